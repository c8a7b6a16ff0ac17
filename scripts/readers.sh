#!/usr/bin/env bash
# The PDF readers the text-layer tests run (tests/unit/test_readers.py): poppler-utils
# (pdftotext; pdfsig, the signature tests' independent validator), mupdf-tools (mutool) and
# qpdf from Debian, libnss3-tools (certutil: the NSS database pdfsig trusts the test root from),
# pdf.js (pdfjs-dist, pinned in tests/js/package-lock.json) from npm under the machine's
# Node.js. Installs what is missing; rerunning changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v pdfsig >/dev/null 2>&1 || missing+=(poppler-utils)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v mutool >/dev/null 2>&1 || missing+=(mupdf-tools)
command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  apt-get update -qq
  apt-get install -y -qq "${packages[@]}" >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "pdf.js (pdfjs-dist) needs Node.js 20 or newer; this machine has $(node --version)" >&2
  exit 1
fi
wanted=$(node -p 'require("./tests/js/package-lock.json").packages["node_modules/pdfjs-dist"].version')
have=$(node -p 'try { require("./tests/js/node_modules/pdfjs-dist/package.json").version } catch { "" }')
if [ "$have" != "$wanted" ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "PDF readers ready: $(pdftotext -v 2>&1 | head -n 1), pdfsig and certutil, mutool $(mutool -v 2>&1 | sed -n 's/.*version //p'), $(qpdf --version | head -n 1), pdf.js $wanted on node $(node --version)"
