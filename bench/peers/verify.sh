#!/usr/bin/env bash
# Checks that the benchmark peers compute Hugging Face's BertModel: both recompute the HF golden
# batch of ../shared/golden/models/{tiny,small} (transformers 4.44.2 outputs) and must match it
# (last_hidden_state atol 1e-5, pooler_output atol 1e-5, as the golden README suggests).
# Needs scripts/bench-deps.sh to have run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
golden="${BERTKIT_SHARED_DIR:-$here/../../../shared}/golden/models"
[ -d "$golden" ] || { echo "verify: no golden models at $golden (set BERTKIT_SHARED_DIR)"; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() {  # peer model; reads the peer's JSON on stdin
  /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["golden"]
diffs = {k: v for k, v in r.items() if k.endswith("_max_abs_diff")}
ok = len(diffs) == 2 and all(v <= 1e-5 for v in diffs.values())
print(f"verify: {sys.argv[1]:12s} {sys.argv[2]:6s} " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
      + ("" if ok else "  FAILED"))
sys.exit(0 if ok else 1)' "$1" "$2"
}

status=0
for m in tiny small; do
  onnx="$tmp/$m.onnx"
  /usr/bin/python3 "$here/torch_bert.py" --model "$golden/$m" --threads 1 --shapes "" \
    --golden "$golden/$m/outputs.safetensors" --export-onnx "$onnx" | check pytorch "$m" || status=1
  node "$here/ort_bert.js" --model "$onnx" --threads 1 --shapes "" \
    --golden "$golden/$m/outputs.safetensors" | check onnxruntime "$m" || status=1
done
exit $status
