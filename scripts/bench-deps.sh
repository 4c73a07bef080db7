#!/usr/bin/env bash
# Installs the peers bench/model_forward.cpp compares bertkit with: PyTorch (Debian's
# python3-torch, which runs the same BERT from bench/peers/torch_bert.py and exports it to ONNX)
# and ONNX Runtime for Node (bench/peers/package.json). Benchmarks only: CI does not run this.
# Idempotent; apt needs root or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch.onnx.export in torch 1.13 serialises the graph itself, so python3-onnx is not needed.
packages=(python3-torch python3-numpy)
# Node: Debian's nodejs + npm, unless a node with npm (e.g. NodeSource's, which bundles npm) is
# already there.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "bench-deps: Debian packages present (${packages[*]})"
fi

# --ignore-scripts: the postinstall step only fetches GPU (CUDA) binaries; the CPU binary for
# linux-x64 is in the npm package itself. The lock file pins the exact version.
(cd bench/peers && npm ci --ignore-scripts --no-audit --no-fund)
node -e "require('./bench/peers/node_modules/onnxruntime-node')" \
  && echo "bench-deps: onnxruntime-node $(node -p "require('./bench/peers/node_modules/onnxruntime-node/package.json').version") loads"
/usr/bin/python3 -c "import torch; print('bench-deps: torch', torch.__version__)"
echo "bench-deps: bench/peers/verify.sh checks both peers against the HF goldens"
