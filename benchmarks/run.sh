#!/usr/bin/env bash
# Cairn vs MLflow, side by side, in one command. See benchmarks/README.md; flags: run.py --help.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec "$HERE/../.venv/bin/python" "$HERE/run.py" "$@"
