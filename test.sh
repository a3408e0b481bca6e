#!/usr/bin/env bash
# Mimi Explorer: install what the tests need (system packages + .venv), lint, run the tests.
#   ./test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh test
export HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6
# A real, clocked audio loopback (PipeWire null sink) for the device tests, where it starts.
if [ -x scripts/loopback.sh ]; then
    eval "$(scripts/loopback.sh start)" || true
    trap 'scripts/loopback.sh stop >/dev/null 2>&1 || true' EXIT
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
