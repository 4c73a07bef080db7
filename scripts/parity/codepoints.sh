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
PARITY_SHOW=${PARITY_SHOW:-3} "$here/run.sh" "${1:-build}" "$work/codepoints.jsonl"
