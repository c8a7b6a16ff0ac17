#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432, trust auth,
# database "test". Installs PostgreSQL from Debian's packages on a machine that lacks it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  apt-get install -y -qq "$@" >/dev/null
}
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  apt_install postgresql
fi
# The browser tests drive Debian's chromium with Playwright (Playwright's own download is not
# reachable from here, and not needed).
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atc "select 1" >/dev/null 2>&1; then
  # A fresh cluster: trust local connections and create the test database.
  hba=$(su postgres -c "psql -Atc 'show hba_file'")
  sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+\S+\s+)\S+/\1trust/' "$hba"
  su postgres -c "psql -c 'select pg_reload_conf()'" >/dev/null
  su postgres -c "createdb test" 2>/dev/null || true
fi
psql -h 127.0.0.1 -U postgres -d test -Atc "select 'postgresql ready: ' || version()" | cut -c1-60
