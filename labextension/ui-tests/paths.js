// Where the browser tests find the venv and put their data and artefacts.
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const VENV = process.env.SPEC3NB_VENV || path.join(REPO, '.venv');

module.exports = {
  REPO,
  VENV,
  PYTHON: path.join(VENV, 'bin', 'python'),
  JUPYTER: path.join(VENV, 'bin', 'jupyter'),
  // test-artifacts/ is git-ignored.
  ARTIFACTS: path.join(REPO, 'test-artifacts', 'ui'),
  FIXTURES: path.join(REPO, 'test-artifacts', 'ui', 'fixtures'),
  MAGICS: path.join(REPO, 'spec3nb', 'magics.py')
};
