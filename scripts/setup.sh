#!/usr/bin/env bash
# Installs what memwhy's demo and tests need on a Debian machine: npm packages,
# and (when root) the system packages that are missing. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, by the file that shows each is present.
declare -A wanted=(
  [gdb]=/usr/bin/gdb
  [python3]=/usr/bin/python3
  [libjemalloc2]=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
  [libtcmalloc-minimal4]=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
  [libmimalloc2.0]=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
  [chromium]=/usr/bin/chromium
  # memwhy watch's test against a real Prometheus (and promtool for the shipped rules).
  [prometheus]=/usr/bin/prometheus
  # go tool pprof reads back the profiles diagnose --pprof writes.
  [golang-go]=/usr/bin/go
  # The real-service zoo (test/services): Debian's packaged frameworks.
  [python3-flask]=/usr/lib/python3/dist-packages/flask/__init__.py
  [gunicorn]=/usr/bin/gunicorn
  [python3-sqlalchemy]=/usr/lib/python3/dist-packages/sqlalchemy/__init__.py
  [python3-numpy]=/usr/lib/python3/dist-packages/numpy/__init__.py
  [python3-aiohttp]=/usr/lib/python3/dist-packages/aiohttp/__init__.py
  [python3-gevent]=/usr/lib/python3/dist-packages/gevent/__init__.py
  [python3-waitress]=/usr/lib/python3/dist-packages/waitress/__init__.py
  [uwsgi-core]=/usr/bin/uwsgi-core
  [uwsgi-plugin-python3]=/usr/lib/uwsgi/plugins/python311_plugin.so
  # npm run lint's checker of the Python (scripts/lint-python.py).
  [python3-pyflakes]=/usr/lib/python3/dist-packages/pyflakes/__init__.py
)
if [ -n "${MEMWHY_EXTRA_PACKAGES:-}" ]; then
  for p in $MEMWHY_EXTRA_PACKAGES; do wanted[$p]=""; done
fi
missing=()
for pkg in "${!wanted[@]}"; do
  path=${wanted[$pkg]}
  if [ -n "$path" ] && [ -e "$path" ]; then continue; fi
  if [ -z "$path" ] && dpkg -s "$pkg" >/dev/null 2>&1; then continue; fi
  missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "memwhy setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "memwhy setup: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
