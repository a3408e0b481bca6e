#!/usr/bin/env bash
# Mimi Explorer: install what the app needs (system packages + .venv), then start it.
#   ./run.sh [FILE]          open the app (optionally with an audio file)
#   ./run.sh roundtrip ...   or any command of main.py
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh app
exec .venv/bin/python main.py "$@"
