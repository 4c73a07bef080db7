#!/usr/bin/env bash
# Parity over the whole Unicode range: every code point alone and inside a word, bertkit vs HF
# tokenizers. Rust differs from Python BertTokenizer on ~830k unassigned code points and a few
# hundred characters whose category changed since Rust's tables; parity.js explains each of them.
#
# usage: scripts/parity/codepoints.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/codepoint_texts.js" "$work/codepoints.jsonl"
build=${1:-build}
status=0
PARITY_SHOW=${PARITY_SHOW:-3} "$here/run.sh" "$build" "$work/codepoints.jsonl" || status=$?
# bertkit against Python's per-character rules directly (no Rust involved).
case $build in /*) ;; *) build=$here/../../$build ;; esac
"$build/bench_tokenize_jsonl" --model "$here/../../tests/fixtures/bert-base-uncased" \
  "$work/codepoints.jsonl" >"$work/bertkit.ids"
node "$here/python_rules_check.js" "$work/codepoints.jsonl" "$work/bertkit.ids" || status=1
exit $status
