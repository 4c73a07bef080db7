#!/usr/bin/env node
// Writes a .jsonl with every Unicode scalar value twice: alone and inside a word ("a" + ch + "b"),
// 2.2M short texts that exercise each character's cleaning, case, accent, CJK and punctuation
// rules. Used by codepoints.sh.
//
// usage: node codepoint_texts.js OUT.jsonl
'use strict';

const fs = require('fs');

const out = process.argv[2];
if (!out) {
  console.error('usage: codepoint_texts.js OUT.jsonl');
  process.exit(2);
}
const fd = fs.openSync(out, 'w');
let lines = [];
for (let cp = 0; cp <= 0x10ffff; ++cp) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;  // surrogates are not text
  const ch = String.fromCodePoint(cp);
  lines.push(JSON.stringify({text: ch}), JSON.stringify({text: `a${ch}b`}));
  if (lines.length >= 20000) {
    fs.writeSync(fd, lines.join('\n') + '\n');
    lines = [];
  }
}
fs.writeSync(fd, lines.join('\n') + '\n');
fs.closeSync(fd);
