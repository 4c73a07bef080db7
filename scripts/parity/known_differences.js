// Documented differences between HF's Rust tokenizer (BertNormalizer + BertPreTokenizer, as
// loaded from tokenizer.json) and transformers' Python `BertTokenizer`, which bertkit follows.
// Each rule looks at a mismatching text and says whether that difference explains it.
'use strict';

// Rust's `is_chinese_char` starts its "Extension C/D" range at U+2B920 where Python's
// `_is_chinese_char` starts at U+2B820 (tokenizers/src/normalizers/bert.rs), so Rust does not
// space out U+2B820..U+2B91F and such a character stays glued to its neighbours.
function rustCjkRangeGap(text) {
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (cp >= 0x2b820 && cp <= 0x2b91f) return true;
  }
  return false;
}

// Rust's clean-up drops every character its `unicode_categories` tables call "Other" (Cc, Cf,
// Cn, Co). Those tables predate Python 3.11's Unicode 14, so characters assigned since then
// (newer emoji, symbols, scripts) are "unassigned" to Rust and silently removed, while Python
// keeps them (usually as [UNK]). A character is counted here when Rust's normalizer removes it
// although Node's (newer) Unicode data says it is not in category C.
function rustRemovesAssignedCharacter(text, tokenizer) {
  const normalizer = tokenizer.getNormalizer();
  const seen = new Set();
  for (const ch of text) {
    if (ch.codePointAt(0) < 0x80 || seen.has(ch)) continue;
    seen.add(ch);
    if (!/\p{C}/u.test(ch) && normalizer.normalizeString(`a${ch}a`) === 'aa') return true;
  }
  return false;
}

const KNOWN_DIFFERENCES = [
  {
    cause: 'Rust CJK range starts at U+2B920, Python at U+2B820',
    applies: (m) => rustCjkRangeGap(m.text),
  },
  {
    cause: 'Rust Unicode tables older than Python 3.11 (newer character dropped as unassigned)',
    applies: (m, tokenizer) => rustRemovesAssignedCharacter(m.text, tokenizer),
  },
];

// The cause of a mismatch `m` ({text, hfIds, bkIds, ...}), or null when no known rule applies.
function classify(m, tokenizer) {
  for (const rule of KNOWN_DIFFERENCES) {
    if (rule.applies(m, tokenizer)) return rule.cause;
  }
  return null;
}

module.exports = {classify, KNOWN_DIFFERENCES};
