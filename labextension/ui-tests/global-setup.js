// Before the browser tests: write their data with the venv's spec3nb (make_fixtures.py).
const { execFileSync } = require('child_process');
const path = require('path');
const { FIXTURES, PYTHON } = require('./paths');

module.exports = async () => {
  execFileSync(PYTHON, [path.join(__dirname, 'make_fixtures.py'), FIXTURES], { stdio: 'inherit' });
};
