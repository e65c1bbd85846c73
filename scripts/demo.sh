#!/usr/bin/env bash
# Quick start 1: set up, then load the bundled example MLTable, filter, sample and preview it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python examples/demo.py "$@"
