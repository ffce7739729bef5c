#!/usr/bin/env bash
# Set up StreamStudio on a Debian machine with Python 3.11+: system packages (as root, when missing),
# a virtual environment in .venv, and the Python packages. Safe to run again; it skips what is done.
#   scripts/setup.sh          the studio
#   scripts/setup.sh --test   the studio plus what the tests need (Chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_packages=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_packages+=(ffmpeg)
[[ $want_test == 1 && ! -x /usr/bin/chromium ]] && apt_packages+=(chromium)
if (( ${#apt_packages[@]} )); then
  if [[ $(id -u) == 0 ]]; then
    echo "installing system packages: ${apt_packages[*]} (apt-get; a minute or two)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  else
    echo "please install these Debian packages first (as root): apt-get install ${apt_packages[*]}" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "creating the virtual environment .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha
wanted=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
  # torch first, on its own: pip then keeps the installed build (CPU or CUDA) for everything else.
  echo "installing torch 2.13 into .venv (about a minute)"
  .venv/bin/pip install -q --disable-pip-version-check "torch==2.13.0"
  echo "installing the studio's Python packages (requirements.txt; a few minutes on a fresh machine)"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
  echo "$wanted" > "$stamp"
fi
echo "ready: .venv"
