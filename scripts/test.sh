#!/usr/bin/env bash
# Every test, from a fresh machine: services, PDF readers, packages, lint, the import contract,
# the type checker, then pytest (extra arguments go to pytest).
#
# scripts/test.sh --quick: the unit tests and the database tests on SQLite only (no
# PostgreSQL, no browser, nothing marked slow), after the same checks; for the edit-test loop.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
if [ -z "$quick" ]; then
  scripts/services.sh
  scripts/setup.sh test
elif [ ! -x .venv/bin/pytest ]; then
  scripts/setup.sh test
fi
scripts/readers.sh  # the PDF readers the text-layer tests run; installs only what is missing
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
if [ -n "$quick" ]; then
  exec .venv/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/db \
    -m "not postgresql and not slow" "$@"
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
