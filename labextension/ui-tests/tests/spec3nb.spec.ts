/**
 * spec3nb's extension in a real JupyterLab (the venv's) and a real browser (Debian's
 * Chromium). The data come from make_fixtures.py (global set-up).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import { reportBrowserErrors, watchErrors } from './browser-errors';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { ARTIFACTS, FIXTURES, MAGICS } = require('../paths');

const ASN = 'jw01234-o001_spec3_00001_asn.json';
const ASN_NOTEBOOK = 'jw01234-o001_spec3_00001.ipynb';

test.use({ autoGoto: true, serverFiles: 'off' });

test.afterEach(async ({ page }, testInfo) => reportBrowserErrors(page, testInfo));

async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** The notebook JSON on the server. */
async function serverNotebook(page: IJupyterLabPageFixture, notebookPath: string): Promise<any> {
  const response = await page.request.get(`/api/contents/${notebookPath}?content=1`);
  expect(response.ok()).toBe(true);
  return (await response.json()).content;
}

async function openFolder(page: IJupyterLabPageFixture, folder: string): Promise<void> {
  await page.filebrowser.openDirectory(folder);
  await expect(page.locator(`.jp-DirListing-item[title^="Name: ${ASN}"]`)).toBeVisible();
}

test.describe('spec3nb extension', () => {
  test('the server starts with the extension and its launcher card', async ({ page }) => {
    const errors = watchErrors(page);
    const plugin = await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      return {
        has: app.hasPlugin('spec3nb:plugin'),
        active: app.isPluginActivated('spec3nb:plugin'),
        commands: ['spec3nb:open-association', 'spec3nb:new-simulation'].map(id =>
          app.commands.hasCommand(id)
        )
      };
    });
    expect(plugin).toEqual({ has: true, active: true, commands: [true, true] });
    const extensions = await page.request.get('/lab/api/extensions');
    if (extensions.ok()) {
      const names = (await extensions.json()).map((e: any) => e.name);
      expect(names).toContain('spec3nb');
    }
    // Galata's page opens with a launcher.
    const card = page.locator('.jp-LauncherCard[data-category="JWST"]').filter({ visible: true });
    await expect(card).toBeVisible();
    await expect(card).toHaveText('JWST Spec3');
    await expect(card).toHaveAttribute('title', /simulated dataset/);
    // With its icon (an SVG), not a kernel card's letter.
    await expect(card.locator('.jp-LauncherCard-icon svg')).toHaveCount(1);
    await screenshot(page, 'launcher');
    expect(errors).toEqual([]);
  });

  test('a saved notebook shows the pipeline summary without a kernel', async ({ page, tmpPath }) => {
    const errors = watchErrors(page);
    const summary = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'summary.json'), 'utf-8'));
    await page.contents.uploadFile(
      path.join(FIXTURES, 'saved_session.ipynb'),
      `${tmpPath}/saved_session.ipynb`
    );
    await page.notebook.openByPath(`${tmpPath}/saved_session.ipynb`);
    const rendered = page.locator('.jp-OutputArea-output .spec3nb-summary');
    await rendered.waitFor({ state: 'attached' });
    await expect(rendered).toHaveCount(1);
    await expect(rendered).not.toHaveClass(/spec3nb-summary-invalid/);
    // The renderer was chosen, not the text/plain fallback.
    await expect(page.locator('.jp-OutputArea-output[data-mime-type="text/plain"]')).toHaveCount(0);

    const nodes = rendered.locator('.spec3nb-node');
    await expect(nodes).toHaveCount(summary.nodes.length);
    const shown = await nodes.evaluateAll(els =>
      els.map(el => [(el as HTMLElement).dataset.step, (el as HTMLElement).dataset.status])
    );
    expect(shown).toEqual(summary.nodes.map((n: any) => [n.name, n.status]));
    // Statuses are coloured: a done node and a skipped node have different borders.
    const colours = await nodes.evaluateAll(els =>
      els.map(el => getComputedStyle(el).borderLeftColor)
    );
    const byStatus = new Map<string, string>();
    shown.forEach(([, status], i) => byStatus.set(status as string, colours[i]));
    expect(byStatus.get('done')).toBeTruthy();
    expect(byStatus.get('done')).not.toEqual(byStatus.get('skipped'));

    await expect(rendered.locator('.spec3nb-summary-mode')).toHaveText(summary.mode_label);
    await expect(rendered.locator('.spec3nb-product')).toHaveText(summary.products);
    await rendered.scrollIntoViewIfNeeded();
    await screenshot(page, 'saved-session-summary');
    await rendered.screenshot({ path: path.join(ARTIFACTS, 'saved-session-summary-output.png') });
    expect(errors).toEqual([]);
  });

  test('"Open in spec3nb" on an association creates and runs a notebook beside it', async ({
    page,
    tmpPath
  }) => {
    const errors = watchErrors(page);
    await page.contents.uploadDirectory(path.join(FIXTURES, 'mir_lrs'), `${tmpPath}/mir_lrs`);
    await openFolder(page, `${tmpPath}/mir_lrs`);

    // Not on other files.
    await page.locator('.jp-DirListing-item[title^="Name: truth.json"]').click({ button: 'right' });
    await expect(page.locator('.lm-Menu-itemLabel', { hasText: 'Open With' })).toBeVisible();
    await expect(page.locator('.lm-Menu-itemLabel', { hasText: 'Open in spec3nb' })).toBeHidden();
    await page.keyboard.press('Escape');

    await page.locator(`.jp-DirListing-item[title^="Name: ${ASN}"]`).click({ button: 'right' });
    const item = page.locator('.lm-Menu-itemLabel', { hasText: 'Open in spec3nb' });
    await expect(item).toBeVisible();
    await screenshot(page, 'context-menu-on-association');
    await item.click();

    const notebookPath = `${tmpPath}/mir_lrs/${ASN_NOTEBOOK}`;
    await expect(page.locator(`.jp-DirListing-item[title^="Name: ${ASN_NOTEBOOK}"]`)).toBeVisible();
    await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tabLabel', { hasText: ASN_NOTEBOOK })).toBeVisible();
    const nb = await serverNotebook(page, notebookPath);
    expect(nb.cells.map((c: any) => c.source)).toEqual(['%load_ext spec3nb', `session = %spec3 ${ASN}`]);
    expect(nb.metadata.kernelspec.name).toBe('python3');

    // The cells were sent to the kernel: the first one (no output) gets an execution count,
    // and up to then nothing went wrong in the page (the extension's part).
    const prompts = page.locator('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt');
    await expect(prompts.first()).toHaveText(/\[\d+\]/, { timeout: 60000 });
    expect(errors).toEqual([]);
    expect(fs.existsSync(MAGICS)).toBe(true);
    // The second cell opens the session: it runs without an error and shows the dashboard
    // with the pipeline of this association.
    await expect(prompts.nth(1)).toHaveText(/\[\d+\]/, { timeout: 90000 });
    const notebook = page.locator('.jp-NotebookPanel:visible .jp-Notebook');
    await expect(notebook.locator('.jp-OutputArea-output', { hasText: 'Error displaying widget' })).toHaveCount(0);
    await expect(notebook.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).toHaveCount(0);
    const dashboard = notebook.locator('.jp-CodeCell').nth(1).locator('.jp-OutputArea-output').first();
    await expect(dashboard).toContainText('MIRI LRS fixed slit', { timeout: 60000 });
    const summary = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'summary.json'), 'utf-8'));
    for (const step of summary.nodes.map((n: any) => n.name)) {
      await expect(dashboard.getByText(step, { exact: true }).first()).toBeVisible();
    }
    await screenshot(page, 'open-in-spec3nb');
    // The dashboard renders cleanly: no widget failed, nothing logged, no traceback.
    await expect(notebook.locator('.jupyter-widgets-error-widget')).toHaveCount(0);
    await expect(dashboard).not.toContainText('Traceback');
    expect(errors).toEqual([]);
  });

  test('the JWST Spec3 launcher card creates a notebook for the chosen simulated mode', async ({
    page,
    tmpPath
  }) => {
    const errors = watchErrors(page);
    await page.locator('.jp-LauncherCard[data-category="JWST"]').filter({ visible: true }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Observing mode');
    await dialog.locator('select').selectOption({ label: 'nis_wfss (NIRISS WFSS)' });
    await screenshot(page, 'launcher-mode-dialog');
    await dialog.locator('.jp-mod-accept').click();

    const notebookPath = `${tmpPath}/spec3nb_nis_wfss.ipynb`;
    await expect(page.locator('.jp-DirListing-item[title^="Name: spec3nb_nis_wfss.ipynb"]')).toBeVisible();
    const nb = await serverNotebook(page, notebookPath);
    expect(nb.cells.map((c: any) => c.source)).toEqual(['%load_ext spec3nb', 'session = %spec3_simulate nis_wfss']);
    await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tabLabel', { hasText: 'spec3nb_nis_wfss.ipynb' })).toBeVisible();
    const prompts = page.locator('.jp-NotebookPanel:visible .jp-CodeCell .jp-InputArea-prompt');
    await expect(prompts.first()).toHaveText(/\[\d+\]/, { timeout: 60000 });
    expect(errors).toEqual([]);
  });
});
