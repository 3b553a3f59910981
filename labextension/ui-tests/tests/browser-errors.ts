/**
 * What the browser said went wrong: console errors, uncaught page errors, and the text
 * behind ipywidgets' error widgets ("Click to show javascript error"). A test asserts that
 * there were none; when a test fails for any reason, the collected text is printed and
 * attached to the report, so that a failure seen once in CI can be explained.
 */
import type { Page, TestInfo } from '@playwright/test';

const collected = new WeakMap<Page, string[]>();

/** Console errors and uncaught page errors of `page`, collected from now on. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', message => {
    if (message.type() === 'error') {
      errors.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', error => errors.push(`pageerror: ${error.message}\n${error.stack ?? ''}`));
  collected.set(page, errors);
  return errors;
}

/** The message and stack of every error widget on the page (each is clicked open). */
async function errorWidgetTexts(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.jupyter-widgets-error-widget')).map(el => {
      (el as HTMLElement).click(); // the widget's view replaces its icon with the text
      return `error widget: ${el.textContent ?? ''}`;
    })
  );
}

/** After a failed test: print and attach what the browser reported. */
export async function reportBrowserErrors(page: Page, testInfo: TestInfo): Promise<void> {
  if (testInfo.status === testInfo.expectedStatus) {
    return;
  }
  const lines = [...(collected.get(page) ?? [])];
  try {
    lines.push(...(await errorWidgetTexts(page)));
  } catch (error) {
    lines.push(`(the error widgets could not be read: ${error})`);
  }
  const text = lines.length ? lines.join('\n') : '(no console error, page error or error widget)';
  console.log(`browser errors of "${testInfo.title}":\n${text}`);
  await testInfo.attach('browser-errors', { body: text, contentType: 'text/plain' });
}
