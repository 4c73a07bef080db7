#!/usr/bin/env node
// Peer for bench_tokenizer_throughput: times Hugging Face's Rust tokenizers (Node bindings) on the
// same texts and options (add_special_tokens, no truncation/padding). The thread count is set by
// the caller through the environment, before Rust's thread pool starts:
//   single thread: RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
//   all threads:   TOKENIZERS_PARALLELISM=true (RAYON_NUM_THREADS unset)
// Prints one `RESULT {json}` line per measurement on stdout; exits 3 when the package is missing.
//
// usage: node hf_tokenizers.js --tokenizer tokenizer.json --data FILE [--limit N] [--repeat R]
//                              [--label TEXT] [--no-loop]
'use strict';

const path = require('path');
const {loadTokenizers, readJsonlTexts} = require(
    path.join(__dirname, '..', '..', 'scripts', 'parity', 'hf.js'));

function parseArgs(argv) {
  const args = {tokenizer: null, data: null, limit: Infinity, repeat: 1, label: '', loop: true};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--tokenizer') args.tokenizer = argv[++i];
    else if (a === '--data') args.data = argv[++i];
    else if (a === '--limit') args.limit = Number(argv[++i]);
    else if (a === '--repeat') args.repeat = Math.max(1, Number(argv[++i]));
    else if (a === '--label') args.label = argv[++i];
    else if (a === '--no-loop') args.loop = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.tokenizer || !args.data) throw new Error('--tokenizer and --data are required');
  return args;
}

// Best (shortest) of `repeat` runs of `fn`, in seconds; `fn` returns the token count.
async function best(repeat, fn) {
  let seconds = Infinity;
  let tokens = 0;
  for (let r = 0; r < repeat; ++r) {
    const start = process.hrtime.bigint();
    tokens = await fn();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return {seconds, tokens};
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const hf = loadTokenizers();
  if (!hf) process.exit(3);
  const tokenizer = hf.Tokenizer.fromFile(args.tokenizer);
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  const texts = readJsonlTexts(args.data, 'text', args.limit);
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
  const options = {addSpecialTokens: true};
  await tokenizer.encodeBatch(texts.slice(0, 200), options);  // warm-up

  const emit = (name, {seconds, tokens}) => {
    console.log('RESULT ' + JSON.stringify({name, texts: texts.length, bytes, tokens, seconds}));
  };
  if (args.loop) {
    // One awaited encode() per text: each call is a task on libuv's pool, so this also pays
    // Node's per-call overhead, as a Node user encoding texts one by one would.
    emit(`HF tokenizers encode() loop${args.label}`, await best(args.repeat, async () => {
      let tokens = 0;
      for (const t of texts) tokens += (await tokenizer.encode(t, null, options)).getLength();
      return tokens;
    }));
  }
  // Only the Rust call is timed; token counting happens after.
  let encodings = null;
  const batch = await best(args.repeat, async () => {
    encodings = await tokenizer.encodeBatch(texts, options);
    return 0;
  });
  batch.tokens = encodings.reduce((n, e) => n + e.getLength(), 0);
  emit(`HF tokenizers encodeBatch${args.label}`, batch);
}

main().catch((e) => {
  console.error(`hf_tokenizers.js: ${e.message}`);
  process.exit(2);
});
