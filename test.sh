#!/usr/bin/env bash
# Mimi Explorer: install what the tests need (system packages + .venv), lint, run the tests.
#   ./test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh test
export HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6
# A real, clocked audio loopback (PipeWire null sink) for the device tests. On a developer's
# machine the device tests skip, saying why, where it cannot start; in CI that is a failure.
if loop=$(scripts/loopback.sh start); then
    eval "$loop"
    trap 'scripts/loopback.sh stop >/dev/null 2>&1 || true' EXIT
elif [ -n "${CI:-}" ]; then
    echo "test.sh: the PipeWire loopback did not start (see the lines above); CI needs it" >&2
    exit 1
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
