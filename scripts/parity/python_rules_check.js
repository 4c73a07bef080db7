#!/usr/bin/env node
// Checks bertkit, character by character, against Python BertTokenizer's rules evaluated with
// Python 3.11's Unicode 14 categories (known_differences.js pythonTreatment): for every "a" + ch
// + "b" text of codepoint_texts.js, the character must be removed ("ab"), split off
// ("a" ... "b") or kept inside the word, as Python would. CJK ideographs are skipped (always
// split; the golden tests cover them). Independent of HF's Rust tokenizer.
//
// usage: node python_rules_check.js codepoints.jsonl bertkit.ids
'use strict';

const fs = require('fs');
const {pythonTreatment} = require('./known_differences.js');

const [textsFile, idsFile] = process.argv.slice(2);
const texts = fs.readFileSync(textsFile, 'utf8').split('\n');
const ids = fs.readFileSync(idsFile, 'utf8').split('\n');
const A = '1037', B = '1038', AB = '11113';  // bert-base-uncased ids of "a", "b", "ab"
const isCjk = (cp) => (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f);
let checked = 0;
const wrong = [];
for (let i = 0; i < texts.length; ++i) {
  if (!texts[i]) continue;
  const chars = Array.from(JSON.parse(texts[i]).text);
  if (chars.length !== 3) continue;  // only the "a" + ch + "b" texts
  const cp = chars[1].codePointAt(0);
  if (isCjk(cp)) continue;
  const body = ids[i].split(' ').slice(1, -1);  // without [CLS] and [SEP]
  const got = body.join(' ') === AB ? 'removed'
      : body.length >= 2 && body[0] === A && body[body.length - 1] === B ? 'split' : 'kept';
  const want = pythonTreatment(chars[1]);
  ++checked;
  if (got !== want) wrong.push(`U+${cp.toString(16).toUpperCase()} python ${want}, bertkit ${got}`);
}
console.log(`characters checked against Python's rules: ${checked}, differing: ${wrong.length}`);
for (const w of wrong.slice(0, 20)) console.log(`  ${w}`);
process.exit(wrong.length === 0 ? 0 : 1);
