#!/usr/bin/env bash
# Local napari version matrix: the widget tests against each napari version this
# package claims to support (by default the oldest, as in pyproject.toml's
# `napari>=` range, and the newest on PyPI).
#
# One virtual environment per napari version, under .matrix/ (ignored by git;
# MATRIX_DIR=... puts them elsewhere). Each gets the pinned CPU torch, the package
# itself (a regular, non-editable install of this working tree, so the installed
# copy is what is tested) with its test extras (PyQt6, pytest-qt, pytest-xvfb),
# and exactly that napari. Then it runs the napari tests (tests/test_napari_*.py,
# tests/test_manifest.py) headless (pytest-xvfb starts Xvfb).
#
#   bash scripts/napari_matrix.sh              # oldest and newest
#   bash scripts/napari_matrix.sh 0.6.0 0.9.2  # any versions
#
# Needs scripts/setup.sh's system packages (Xvfb, Mesa, the xcb libraries).
# Takes several minutes per version (the environments are kept, so a second run
# only re-installs the package). Prints one line per version; logs are
# .matrix/napari-<version>.log. Record results in docs/installation.md.
set -uo pipefail
cd "$(dirname "$0")/.."

OLDEST=0.5.0   # keep equal to the lower bound of napari in pyproject.toml
NEWEST=0.9.2   # `pip index versions napari`
PY=${PYTHON:-python3}
DIR=${MATRIX_DIR:-.matrix}
TESTS=(tests/test_napari_*.py tests/test_manifest.py)

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=("$OLDEST" "$NEWEST")
mkdir -p "$DIR"
# install from a copy of the tree, so that building leaves no build/ or *.egg-info here
TREE="$(cd "$DIR" && pwd)/tree"
rm -rf "$TREE" && mkdir -p "$TREE"
cp pyproject.toml README.md "$TREE"/
cp -r src "$TREE"/
find "$TREE" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
status=0
for v in "${versions[@]}"; do
  venv="$DIR/napari-$v"
  log="$DIR/napari-$v.log"
  start=$(date +%s)
  (
    set -e
    [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
    "$venv/bin/python" -m pip install -q "$TREE[testing]" "napari==$v"
    "$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$TREE"   # this tree, even if unchanged version
    "$venv/bin/python" -m pip list
    # run from outside the source tree's src/, so the installed copy is imported
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -ra "${TESTS[@]}"
  ) >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  qt=$(grep -i -m1 -E '^pyqt6 ' "$log" | awk '{print $2}')
  result=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed|error)' "$log" | tail -1)
  if [ $rc -eq 0 ]; then word=PASS; else word=FAIL; status=1; fi
  printf 'napari %-7s PyQt6 %-7s python %s  %s  %4ss  %s  (%s)\n' "$v" "${qt:-?}" \
    "$("$venv/bin/python" -c 'import platform; print(platform.python_version())' 2>/dev/null)" \
    "$word" "$secs" "${result:-see log}" "$log"
done
exit $status
