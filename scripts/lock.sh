#!/usr/bin/env bash
# Refresh requirements.lock: the exact versions of every package saraban and its tests need
# (runtime + the test extra), resolved from pyproject.toml with uv. Without arguments the
# current pins are kept where they still fit (after adding or bounding a dependency);
# `scripts/lock.sh --upgrade` moves everything to the newest versions allowed. Then run
# scripts/test.sh and commit the lock with the change that needed it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || .venv/bin/python -m pip install --quiet uv
.venv/bin/uv pip compile pyproject.toml --extra test \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --custom-compile-command "scripts/lock.sh" \
  -o requirements.lock "$@"
