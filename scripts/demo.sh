#!/usr/bin/env bash
# Quick start, first command: builds leancut, makes its own test media, writes a 1,000-shot
# blueprint and renders it under a 256 MiB budget, showing progress.
# Usage: scripts/demo.sh [output-dir]   (default: demo-out)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh default
exec build/default/src/cli/leancut demo "${1:-demo-out}" --progress
