#!/usr/bin/env bash
# Quick start, second command: builds and runs every test (unit, golden, integration).
# Usage: scripts/test.sh [preset]   (default | asan)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
./scripts/build.sh "$preset"
ctest --preset "$preset" -j"$(nproc)"
