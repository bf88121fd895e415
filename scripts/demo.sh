#!/usr/bin/env bash
# Set up (if needed), then segment scikit-image's astronaut with every method:
# writes labels (.tif), overlays (.png) and summary.md / summary.csv to demo_out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/deepsuperpixel demo -o "${1:-demo_out}" --overwrite
cat "${1:-demo_out}/summary.md"
