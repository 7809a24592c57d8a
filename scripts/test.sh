#!/usr/bin/env bash
# The test command: installs what the tests need, lints, builds, type-checks, runs every test.
# With file arguments it runs just those files (no lint, no type-check), for work in progress.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The whole suite lints first: the linters fail in a minute, the suite takes many.
if [ "$#" -eq 0 ]; then bash scripts/lint.sh; fi
# The HTML report's viewer bundle (dist/report-viewer.*), which the report tests read.
node scripts/build-viewer.mjs
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  ./node_modules/.bin/tsc -p tsconfig.json
  # The CLI bundle bin/memwhy runs (dist/memwhy.cjs): built here, not by the first test to start memwhy.
  node scripts/bundle-cli.mjs
  # The tests and benchmarks are type-checked too (tsx runs them without checking).
  ./node_modules/.bin/tsc -p tsconfig.tests.json
  mapfile -t files < <(find test -name '*.test.ts' | sort)
fi
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
