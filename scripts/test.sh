#!/usr/bin/env bash
# The test command: installs what the tests need, builds, type-checks, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "$#" -gt 0 ]; then files=("$@"); fi
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
