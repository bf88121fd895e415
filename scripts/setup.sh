#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python >= 3.10:
# system libraries for headless Qt/OpenGL, a virtual environment in .venv,
# the CPU build of PyTorch (pinned, so no CUDA packages are pulled), and the
# package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES="xvfb libgl1 libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 \
libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 \
libxcb-cursor0 libdbus-1-3 libfontconfig1 libglib2.0-0"

if command -v apt-get >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  if ! dpkg -s $SYSTEM_PACKAGES >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $SYSTEM_PACKAGES >/dev/null
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# CPU build of torch; pinned here (the package itself only requires a range).
.venv/bin/python -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
# The project moved from PyQt5 to PyQt6 (napari deprecated PyQt5): an older .venv
# with both bindings would make qtpy pick PyQt5, so drop it.
if .venv/bin/python -m pip show -q PyQt5 >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -y -q PyQt5 PyQt5-Qt5 PyQt5-sip
fi
.venv/bin/python -m pip install -q -e ".[testing,docs]"
