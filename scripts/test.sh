#!/usr/bin/env bash
# Quick start 2: set up, then run the whole test suite.
# Azurite (the Azure Storage emulator the wasbs/abfss/azureml tests run against) comes from npm,
# pinned in tests/azurite/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if command -v npm >/dev/null 2>&1; then
  (cd tests/azurite && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
else
  echo "npm not found: the Azure storage tests will be skipped (they fail when CI is set)" >&2
fi
.venv/bin/python -m pytest "$@"
