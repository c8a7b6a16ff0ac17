#!/usr/bin/env bash
# Benchmark: saraban vs WeasyPrint vs Typst rendering the seed letter (see bench/README.md).
# Installs the benchmark-only packages (bench/requirements.txt; apt + pip) when missing, then
# runs. Extra arguments go to `python -m bench.letter_render` (--runs, --other-runs, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" -m bench.letter_render "$@"
