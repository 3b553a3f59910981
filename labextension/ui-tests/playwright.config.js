// Browser tests of the spec3nb extension: JupyterLab (the venv's, with spec3nb installed)
// on 127.0.0.1 and a free port, driven by Galata/Playwright in Debian's Chromium.
// Nothing is downloaded: no Playwright browsers, no video, no traces.
const { execFileSync } = require('child_process');
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');
const { ARTIFACTS, JUPYTER, PYTHON } = require('./paths');

// The config is evaluated again in each worker: choose the port once, in the main process,
// and hand it down through the environment.
if (!process.env.SPEC3NB_UI_PORT) {
  process.env.SPEC3NB_UI_PORT = execFileSync(PYTHON, [
    '-c',
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  ])
    .toString()
    .trim();
}
const port = process.env.SPEC3NB_UI_PORT;
const chromium = process.env.SPEC3NB_CHROMIUM || '/usr/bin/chromium';

module.exports = {
  ...baseConfig,
  testDir: path.join(__dirname, 'tests'),
  outputDir: path.join(ARTIFACTS, 'results'),
  globalSetup: require.resolve('./global-setup'),
  // One server, 2 cores: one test at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120000,
  expect: { timeout: 30000 },
  reporter: [['list'], ['json', { outputFile: path.join(ARTIFACTS, 'results.json') }]],
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    // JupyterLab does not render off-screen cells: a tall viewport.
    viewport: { width: 1280, height: 1600 },
    trace: 'off',
    video: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--no-sandbox',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: `${JUPYTER} lab --config ${path.join(__dirname, 'jupyter_server_test_config.py')}`,
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      ...process.env,
      SPEC3NB_UI_PORT: port,
      // An own config dir: its labconfig/page_config.json disables the announcements plugin.
      JUPYTER_CONFIG_DIR: path.join(__dirname, 'jupyter-config')
    }
  }
};
