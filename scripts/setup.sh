#!/usr/bin/env bash
# Create .venv and install saraban into it, at the versions requirements.lock pins.
# Usage: scripts/setup.sh [test]   (test: the test tools too: pytest, playwright, mypy, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's python3 makes a venv only with its python3-venv package (ensurepip): install it
# with apt as scripts/services.sh does, or say what is missing.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing python3-venv (python3 -m venv needs it on Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  else
    echo "setup: python3 -m venv needs Debian's python3-venv package:" \
      "run 'sudo apt-get install python3-venv', then this script again" >&2
    exit 1
  fi
fi
python3 -m venv .venv
# setuptools' notice on every editable install ("Editable installation ... be careful with
# folders named as your package") is information, not a problem: left out so that a clean
# install prints nothing. Deprecations and errors still show.
pip_install() {
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet "$@" \
    2>&1 | grep -v "^WARNING: Location" || true
}
pip_install --upgrade pip
if [ "${1:-}" = "test" ]; then
  pip_install -r requirements.lock
  pip_install --no-deps -e .
else
  pip_install -c requirements.lock -e .
fi
.venv/bin/python -c "import letters, credentials, saraban" # fail loudly if the install did not take
