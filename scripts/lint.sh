#!/usr/bin/env bash
# The linters: ESLint over the TypeScript and the build scripts
# (eslint.config.js), pyflakes over the Python (scripts/lint-python.py).
# Prettier is not run here yet: the tree has not had its one-time reformat,
# so `prettier --check` would fail on most files. Once it has (npm run
# format), add `./node_modules/.bin/prettier --check src test bench scripts`.
set -euo pipefail
cd "$(dirname "$0")/.."
./node_modules/.bin/eslint src test bench scripts
# Debian's python3, which has python3-pyflakes (scripts/setup.sh).
/usr/bin/python3 scripts/lint-python.py
