#!/usr/bin/env node
// Compares bertkit's input_ids with Hugging Face tokenizers' (Rust) for every text of some
// .jsonl(.gz) files. bertkit's ids come from a file with one line per text (ids separated by
// spaces, as bench_tokenize_jsonl writes them); HF's are computed here with
// add_special_tokens=True and no truncation or padding.
//
// bertkit follows the Python `BertTokenizer` (the golden reference), and HF's Rust tokenizer
// differs from it in a few documented places; mismatches caused by those are classified as
// explained (see known_differences.js), naming the character responsible. Exit status: 0 when
// every mismatch is explained.
//
// usage: node parity.js --tokenizer tokenizer.json --bertkit ids.txt [--show N] FILE...
'use strict';

const fs = require('fs');
const readline = require('readline');
const {loadTokenizers, readJsonlTexts} = require('./hf.js');
const {classify} = require('./known_differences.js');

function parseArgs(argv) {
  const args = {tokenizer: null, bertkit: null, show: 5, files: []};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--tokenizer') args.tokenizer = argv[++i];
    else if (a === '--bertkit') args.bertkit = argv[++i];
    else if (a === '--show') args.show = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else args.files.push(a);
  }
  if (!args.tokenizer || !args.bertkit || args.files.length === 0) {
    throw new Error('usage: parity.js --tokenizer tokenizer.json --bertkit ids.txt [--show N] FILE...');
  }
  return args;
}

// Code points, with anything outside printable ASCII written as <U+XXXX> so invisible and
// look-alike characters show up in a report.
function visible(s) {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += `<U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${ch.replace(/\p{C}/u, '?')}>`;
  }
  return out;
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ++i) {
    if (a[i] !== b[i]) return i;
  }
  return n;
}

function report(m, tokenizer) {
  const {where, text, hfIds, hfTokens, hfOffsets, bkIds} = m;
  const bkTokens = bkIds.map((id) => tokenizer.idToToken(id) ?? `<id ${id}>`);
  const d = firstDifference(hfIds, bkIds);
  console.log(`--- ${where}: ${hfIds.length} HF tokens, ${bkIds.length} bertkit tokens, ` +
              `first difference at token ${d}` +
              (m.cause ? ` [explained: ${m.cause.cause}; ${m.cause.detail}]` : ' [UNEXPLAINED]'));
  const chars = Array.from(text);
  const span = hfOffsets[Math.min(d, hfOffsets.length - 1)] || [0, 0];
  const from = Math.max(0, span[0] - 40);
  const to = Math.min(chars.length, span[1] + 40);
  console.log(`    text[${from}:${to}]: ${visible(chars.slice(from, to).join(''))}`);
  console.log(`    ${'#'.padEnd(6)}${'HF tokenizers (Rust)'.padEnd(32)}bertkit`);
  for (let i = Math.max(0, d - 3); i < Math.min(Math.max(hfIds.length, bkIds.length), d + 8); ++i) {
    const h = i < hfIds.length ? `${hfTokens[i]} (${hfIds[i]})` : '';
    const b = i < bkIds.length ? `${bkTokens[i]} (${bkIds[i]})` : '';
    console.log(`    ${String(i).padEnd(6)}${visible(h).padEnd(32)}${visible(b)}${h === b ? '' : '   <--'}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const hf = loadTokenizers();
  if (!hf) process.exit(2);
  const tokenizer = hf.Tokenizer.fromFile(args.tokenizer);
  tokenizer.disableTruncation();
  tokenizer.disablePadding();

  const bertkitLines = readline.createInterface({input: fs.createReadStream(args.bertkit)})
                           [Symbol.asyncIterator]();
  const mismatches = [];
  const causes = new Map();
  let total = 0;
  const started = Date.now();
  for (const file of args.files) {
    const texts = readJsonlTexts(file);
    const chunk = 2000;
    for (let start = 0; start < texts.length; start += chunk) {
      const batch = texts.slice(start, start + chunk);
      const encodings = await tokenizer.encodeBatch(batch, {addSpecialTokens: true});
      for (let i = 0; i < batch.length; ++i) {
        const next = await bertkitLines.next();
        if (next.done) throw new Error(`${args.bertkit} ends after ${total} texts`);
        ++total;
        const hfIds = encodings[i].getIds();
        if (hfIds.join(' ') === next.value.trim()) continue;
        const bkIds = next.value.trim() === '' ? [] : next.value.trim().split(' ').map(Number);
        const m = {
          where: `${file}:${start + i + 1}`,
          text: batch[i],
          hfIds,
          hfTokens: encodings[i].getTokens(),
          hfOffsets: encodings[i].getOffsets(),
          bkIds,
        };
        m.cause = classify(m, tokenizer);
        const key = m.cause ? m.cause.cause : 'UNEXPLAINED';
        causes.set(key, (causes.get(key) || 0) + 1);
        mismatches.push(m);
      }
    }
  }
  if (!(await bertkitLines.next()).done) {
    throw new Error(`${args.bertkit} has more lines than the ${total} texts`);
  }

  const unexplained = mismatches.filter((m) => !m.cause);
  console.log(`texts compared: ${total} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`input_ids mismatches: ${mismatches.length} ` +
              `(${mismatches.length - unexplained.length} explained, ${unexplained.length} unexplained)`);
  for (const [cause, count] of causes) console.log(`  ${String(count).padStart(7)}  ${cause}`);
  const shown = unexplained.concat(mismatches.filter((m) => m.cause)).slice(0, args.show);
  for (const m of shown) report(m, tokenizer);
  process.exit(unexplained.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`parity.js: ${e.message}`);
  process.exit(2);
});
