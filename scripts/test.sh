#!/usr/bin/env bash
# Every test, from a fresh machine: services, PDF readers, packages, lint, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
scripts/readers.sh
scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
