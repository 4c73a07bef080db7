#!/usr/bin/env bash
# Installs every Debian package bertkit needs to build and test. Idempotent; run as root or with sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev            # libFuzzer + sanitizer runtimes for the fuzz targets
  libgtest-dev libgmock-dev
  libutf8proc-dev                     # Unicode data for the tokenizer (NFD, categories)
  nlohmann-json3-dev libcli11-dev
  libopenblas-openmp-dev              # GEMM (OpenMP-threaded OpenBLAS)
  libcurl4-openssl-dev libarchive-dev zlib1g-dev
  libssl-dev                          # libcrypto: SHA-256 of downloaded datasets
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
