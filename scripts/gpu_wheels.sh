#!/usr/bin/env bash
# Download the wheels the GPU check installs (scripts/gpu_wheels.txt) into .whl/, on a machine with
# network, before the check travels to the GPU machine. Safe to run again (pip skips what is there).
#   scripts/gpu_wheels.sh            for Linux x86_64, Python 3.11 to 3.13
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
[[ -x $python ]] || python=python3
mkdir -p .whl
mapfile -t requirements < <(grep -v '^\s*#' scripts/gpu_wheels.txt | grep -v '^\s*$')
binary=()
pure=()
for requirement in "${requirements[@]}"; do
  case $requirement in
    pillow==*|charset-normalizer==*|safetensors==*) binary+=("$requirement") ;;  # compiled: one wheel per Python
    imageio-ffmpeg==*) ;;
    *) pure+=("$requirement") ;;
  esac
done
"$python" -m pip download --quiet --no-deps --only-binary=:all: -d .whl "${pure[@]}"
for version in 3.11 3.12 3.13; do
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --python-version "$version" -d .whl "${binary[@]}"
done
"$python" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2010_x86_64 -d .whl \
  "$(grep '^imageio-ffmpeg==' scripts/gpu_wheels.txt)"
du -sh .whl
