#!/usr/bin/env bash
# Set up (if needed), lint, then run the whole test suite headless (pytest-xvfb starts Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the linter first (rules in pyproject.toml [tool.ruff]; the same as .pre-commit-config.yaml)
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest -ra "$@"
