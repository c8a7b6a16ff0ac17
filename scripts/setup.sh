#!/usr/bin/env bash
# Create .venv and install saraban into it, at the versions requirements.lock pins.
# Usage: scripts/setup.sh [test]   (test: the test tools too: pytest, playwright, mypy, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
pip_install() {
  .venv/bin/python -m pip install --quiet "$@" 2>&1 | grep -v "^WARNING: Location" || true
}
pip_install --upgrade pip
if [ "${1:-}" = "test" ]; then
  pip_install -r requirements.lock
  pip_install --no-deps -e .
else
  pip_install -c requirements.lock -e .
fi
.venv/bin/python -c "import letters, credentials, saraban" # fail loudly if the install did not take
