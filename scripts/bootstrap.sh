#!/usr/bin/env bash
# Installs everything Mimi Explorer needs on a Debian machine with Python 3.11:
# system packages (apt, as root or through sudo) and a virtual environment in .venv.
#   scripts/bootstrap.sh app    what the app needs
#   scripts/bootstrap.sh test   that, plus the test tools (Xvfb, PipeWire, espeak-ng, test extra)
# Re-running is cheap: each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3

apt_app=(libportaudio2 libsndfile1 libgl1 libegl1 libglib2.0-0 libfontconfig1 libxkbcommon0
         libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
         libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1)
apt_test=(xvfb xauth dbus pipewire pipewire-pulse pipewire-alsa wireplumber pulseaudio-utils
          espeak-ng sox)
# pesq (wideband PESQ, a project dependency) is published as source only: pip compiles it,
# which needs a C compiler, the C library's headers and this Python's headers.
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
apt_app+=(gcc libc6-dev "python$pyver-dev")
want=("${apt_app[@]}")
[ "$mode" = test ] && want+=("${apt_test[@]}")
"$py" -m venv --help >/dev/null 2>&1 || want+=(python3-venv)
"$py" -c 'import ensurepip' 2>/dev/null || want+=(python3-venv)

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo=(sudo)
    if [ "$(id -u)" -eq 0 ] || [ ${#sudo[@]} -gt 0 ]; then
        echo "bootstrap: installing system packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "bootstrap: please install these Debian packages: ${missing[*]}" >&2
    fi
fi

[ -x .venv/bin/python ] || "$py" -m venv .venv
vpy=.venv/bin/python
pipi() { "$vpy" -m pip install -q --disable-pip-version-check "$@"; }

# torch first, so nothing that depends on it pulls a build we did not choose.
if ! "$vpy" -c 'import torch' 2>/dev/null; then
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
        echo "bootstrap: NVIDIA GPU found, installing a CUDA build of torch" >&2
        pipi ${TORCH_CUDA_INDEX_URL:+--index-url "$TORCH_CUDA_INDEX_URL"} torch
    else
        echo "bootstrap: installing the CPU build torch==2.13.0" >&2
        pipi ${TORCH_CPU_INDEX_URL:+--extra-index-url "$TORCH_CPU_INDEX_URL"} torch==2.13.0
    fi
fi

extra=""
[ "$mode" = test ] && extra="[test]"
stamp=.venv/.installed-$mode
sum=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    echo "bootstrap: installing Python packages ($mode)" >&2
    pipi -e ".$extra"
    echo "$sum" >"$stamp"
fi
