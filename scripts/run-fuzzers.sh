#!/usr/bin/env bash
# Runs every fuzz target built in BUILD_DIR for SECONDS each, seeded from fuzz/corpus/<target>/.
# Fails if any target finds a crash, leak or sanitizer error.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-fuzz}
seconds=${2:-45}
status=0
found=0
# The fuzz build compiles UBSan checks as recoverable: without halt_on_error a "runtime error"
# would be printed and the run still counted as passing.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
for fuzzer in "$build_dir"/*_fuzz; do
  [ -x "$fuzzer" ] || continue
  found=$((found + 1))
  name=$(basename "$fuzzer")
  work=$(mktemp -d)
  # New inputs go to their own folder so the log and crash artifacts are not read back as seeds.
  mkdir "$work/corpus"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  echo "--- $name for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$work/" "$work/corpus" "${seeds[@]}" 2>"$work/log"; then
    tail -n 60 "$work/log"
    echo "FAIL: $name found a problem; artifacts in $work"
    status=1
  else
    grep -E "^(Done|#[0-9]+ +DONE)" "$work/log" | tail -n 1 || true
    rm -rf "$work"
  fi
done
if [ "$found" -eq 0 ]; then
  echo "FAIL: no *_fuzz executables in $build_dir (configure with CXX=clang++ -DBERTKIT_FUZZ=ON and build)"
  exit 1
fi
exit $status
