#!/usr/bin/env bash
# Tokenizer parity at scale: bertkit vs Hugging Face tokenizers (Rust) on all 100,000 IMDB texts
# (train, test, unsupervised), input_ids compared text by text. Prints the mismatch count, the
# known (explained) differences by cause and the first mismatches with their tokens side by side.
# Exit status 0 when every mismatch is explained.
#
# usage: scripts/parity/run.sh [BUILD_DIR] [FILE.jsonl(.gz)...]
#   BUILD_DIR   a configured bertkit build (default: build); bench_tokenize_jsonl is built there
#   FILE...     texts to compare (default: ../shared/data/imdb/{train,test,unsupervised}.jsonl.gz)
# env: BERTKIT_SHARED (default: ../shared beside the repo), PARITY_SHOW (mismatches shown, 5),
#      PARITY_THREADS (bertkit threads, 0 = all)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
shift || true
shared=${BERTKIT_SHARED:-$root/../shared}
model=$root/tests/fixtures/bert-base-uncased
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=("$shared/data/imdb/train.jsonl.gz" "$shared/data/imdb/test.jsonl.gz"
         "$shared/data/imdb/unsupervised.jsonl.gz")
fi
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "parity: $f is missing (IMDB lives in ../shared/data/imdb)" >&2; exit 2; }
done

if ! command -v node >/dev/null; then
  echo "parity: node is not installed (Debian: apt-get install nodejs npm)" >&2
  exit 2
fi
if [ ! -d "$root/scripts/parity/node_modules/@anush008/tokenizers" ]; then
  echo "parity: HF tokenizers for Node is missing; install it once with:" >&2
  echo "  cd $root/scripts/parity && npm install --ignore-scripts" >&2
  exit 2
fi

case $build in /*) ;; *) build=$root/$build ;; esac
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! cmake --build "$build" -j2 --target bench_tokenize_jsonl >"$build/parity-build.log" 2>&1; then
  tail -n 40 "$build/parity-build.log" >&2
  echo "parity: building bench_tokenize_jsonl failed (log: $build/parity-build.log)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "bertkit: tokenizing ${#files[@]} file(s) with $build/bench_tokenize_jsonl"
start=$(date +%s)
"$build/bench_tokenize_jsonl" --model "$model" --threads "${PARITY_THREADS:-0}" "${files[@]}" \
  >"$work/bertkit.ids"
echo "bertkit: $(wc -l <"$work/bertkit.ids") texts in $(( $(date +%s) - start )) s"
echo "HF tokenizers: tokenizing and comparing"
node "$root/scripts/parity/parity.js" --tokenizer "$model/tokenizer.json" \
  --bertkit "$work/bertkit.ids" --show "${PARITY_SHOW:-5}" "${files[@]}"
