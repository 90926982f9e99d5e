#!/usr/bin/env bash
# Create .venv and install the toolkit with its test extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import toolkit, somajo, label_studio_sdk, datasets" 
touch .venv/bin/qst
