#!/usr/bin/env bash
# The linters: ESLint over the TypeScript and the build scripts
# (eslint.config.js), pyflakes over the Python (scripts/lint-python.py),
# and Prettier's check of the formatting (`npm run format` fixes it).
set -euo pipefail
cd "$(dirname "$0")/.."
./node_modules/.bin/prettier --check --log-level warn src test bench scripts
./node_modules/.bin/eslint src test bench scripts
# Debian's python3, which has python3-pyflakes (scripts/setup.sh).
/usr/bin/python3 scripts/lint-python.py
