#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine: the seed's e-MVS mailout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=out/emvs-2569
mkdir -p "$out"
.venv/bin/saraban letter examples/emvs-2569/letter.toml -o "$out/letter.pdf"
echo "done: the letter is in $out/"
