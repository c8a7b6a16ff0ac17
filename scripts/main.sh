#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine: the seed's e-MVS mailout.
# The database is the SQLite file saraban.db here; rerunning finishes or changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/saraban mailout examples/emvs-2569 --out out/emvs-2569
echo "bundles, print-all.pdf and manifest.csv: out/emvs-2569/"
