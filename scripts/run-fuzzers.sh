#!/usr/bin/env bash
# Runs every fuzz target built in BUILD_DIR for SECONDS each, seeded from fuzz/corpus/<target>/.
# Fails if any target finds a crash, leak or sanitizer error.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-fuzz}
seconds=${2:-45}
status=0
for fuzzer in "$build_dir"/*_fuzz; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  work=$(mktemp -d)
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  echo "--- $name for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$work/" "$work" "${seeds[@]}" 2>"$work/log"; then
    tail -n 60 "$work/log"
    echo "FAIL: $name found a problem; artifacts in $work"
    status=1
  else
    grep -E "^(Done|#[0-9]+ +DONE)" "$work/log" | tail -n 1 || true
  fi
done
exit $status
