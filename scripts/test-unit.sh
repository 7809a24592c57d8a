#!/usr/bin/env bash
# The fast loop: the pure tests (analysers, parsers, reports, fuzzing of the
# readers, the import graph), no target process, no gdb, no browser. Under a
# minute; `npm test` stays the full suite.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(test/analyze/*.test.ts test/attach/compiledCache.test.ts test/fuzz/*.test.ts test/heap/*.test.ts test/src/*.test.ts test/util/*.test.ts test/cpython/linetable.test.ts)
for f in test/report/*.test.ts; do
  # The HTML report's tests drive a real browser: they belong to the full suite.
  grep -q "helpers/browser" "$f" || files+=("$f")
done
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
