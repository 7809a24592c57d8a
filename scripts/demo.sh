#!/usr/bin/env bash
# The demo: starts the bundled leaky service and shows memwhy's view of it,
# step by step, as an engineer would walk it. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
./node_modules/.bin/tsc -p tsconfig.json
PYTHON=${PYTHON:-/usr/bin/python3}
MEMWHY=./bin/memwhy

"$PYTHON" -u workloads/leaky_service.py --rate 400 > /tmp/memwhy-demo.out 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q ready /tmp/memwhy-demo.out 2>/dev/null && break; sleep 0.1; done

step() { printf '\n\033[1m$ memwhy %s\033[0m\n' "$*"; "$MEMWHY" "$@"; }

echo "A leaky Python service is running as pid $pid ($("$PYTHON" --version 2>&1))."
step ps
step rss "$pid" --interval 250ms --duration 5s
step stacks "$pid"
step exec "$pid" -c 'import __main__, sys; print("sessions held:", len(__main__._SESSIONS)); print("modules:", len(sys.modules))'
commands=$("$MEMWHY" --help)
for cmd in heap growth malloc diagnose; do
  if grep -q "^  $cmd " <<<"$commands"; then
    case $cmd in
      heap) step heap "$pid" --top 8 ;;
      growth) step growth "$pid" --every 2s --times 2 ;;
      malloc) step malloc "$pid" ;;
      diagnose) step diagnose "$pid" --duration 15s --html /tmp/memwhy-demo-report.html
                echo "The same diagnosis as a page: /tmp/memwhy-demo-report.html" ;;
    esac
  fi
done
echo
echo "The service (pid $pid) was left running throughout; the demo stops it now."
