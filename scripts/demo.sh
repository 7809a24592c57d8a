#!/usr/bin/env bash
# The README's main job: installs what memwhy needs (npm packages; gdb,
# python3 and the allocators via apt when root), builds, and runs
# `memwhy demo`: bundled leaky programs diagnosed end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build >&2
exec ./bin/memwhy demo "$@"
