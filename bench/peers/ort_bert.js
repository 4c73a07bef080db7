#!/usr/bin/env node
// ONNX Runtime peer of bench/model_forward.cpp: runs the ONNX export of the same BERT (written by
// torch_bert.py --export-onnx) on ORT's CPU execution provider at the requested shapes and
// thread count, and prints one JSON object on stdout. Diagnostics go to stderr.
//
//   cd bench/peers && npm install --ignore-scripts      # onnxruntime-node ships its CPU binary
//   node bench/peers/ort_bert.js --model model.onnx --threads 2 --shapes 1x128,8x128
//   --check FILE    recompute the inputs of a safetensors file (written by bench_model_forward)
//                   and report the max abs difference to the outputs stored beside them
//   --golden FILE   the same against an HF golden outputs.safetensors (bert.* output names)
'use strict';

const fs = require('node:fs');
const os = require('node:os');

function usage(message) {
  process.stderr.write(`ort_bert.js: error: ${message}\n` +
    'usage: ort_bert.js --model FILE.onnx [--threads N] [--shapes BxS,...] [--warmup N] ' +
    '[--repeats N] [--vocab N] [--check FILE] [--golden FILE]\n' +
    '  --vocab: vocab_size of the model (timing inputs draw ids below it; default 1024)\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    threads: os.cpus().length, shapes: '1x128,8x128,4x512', warmup: 2, repeats: 10, vocab: 1024,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) && !['model', 'check', 'golden'].includes(key)) usage(`unknown option ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    args[key] = argv[i + 1];
  }
  if (!args.model) usage('--model is required');
  for (const key of ['threads', 'warmup', 'repeats', 'vocab']) {
    args[key] = Number(args[key]);
    if (!Number.isInteger(args[key]) || args[key] < 0) usage(`--${key} must be a whole number`);
  }
  return args;
}

function parseShapes(text) {
  if (!text) return [];
  return text.split(',').map((item) => {
    const m = /^(\d+)x(\d+)$/i.exec(item.trim());
    if (!m) usage(`shape ${item} is not BATCHxSEQ`);
    return [Number(m[1]), Number(m[2])];
  });
}

// name -> {dtype, shape, data (a typed array copy)}. Copies, because tensor data in a
// safetensors file need not be aligned for a Float32Array / BigInt64Array view.
function loadSafetensors(path) {
  const bytes = fs.readFileSync(path);
  if (bytes.length < 8) throw new Error(`${path}: shorter than the 8-byte header length`);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLen > bytes.length) throw new Error(`${path}: header runs past the end of the file`);
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
  const types = {F32: Float32Array, I64: BigInt64Array, I32: Int32Array};
  const out = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const Type = types[info.dtype];
    if (!Type) continue;  // not needed by this peer
    const [begin, end] = info.data_offsets;
    const raw = bytes.subarray(8 + headerLen + begin, 8 + headerLen + end);
    const data = new Type((end - begin) / Type.BYTES_PER_ELEMENT);
    new Uint8Array(data.buffer).set(raw);
    out[name] = {dtype: info.dtype, shape: info.shape, data};
  }
  return out;
}

function feeds(ort, ids, mask, types, shape) {
  const int64 = (a) => new ort.Tensor('int64', a, shape);
  return {input_ids: int64(ids), attention_mask: int64(mask), token_type_ids: int64(types)};
}

// Timing inputs: fixed-seed ids, full attention, segment 0 (the values do not change the cost).
function randomFeeds(ort, batch, seq, vocab) {
  const n = batch * seq;
  const ids = new BigInt64Array(n);
  let state = (batch * 1000 + seq) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids[i] = BigInt(i % seq === 0 ? 101 % vocab : 1000 % vocab + (state % Math.max(1, vocab - 1000)));
  }
  return feeds(ort, ids, new BigInt64Array(n).fill(1n), new BigInt64Array(n), [batch, seq]);
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function compare(ort, session, path, prefix) {
  const t = loadSafetensors(path);
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) {
    if (!t[name] || t[name].dtype !== 'I64') throw new Error(`${path}: no I64 tensor ${name}`);
  }
  const shape = t.input_ids.shape;
  const out = await session.run(
    feeds(ort, t.input_ids.data, t.attention_mask.data, t.token_type_ids.data, shape));
  const result = {file: path};
  for (const name of ['last_hidden_state', 'pooler_output']) {
    const want = t[prefix + name];
    if (want) result[`${name}_max_abs_diff`] = maxAbsDiff(out[name].data, want.data);
  }
  return result;
}

function median(values) {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function timeShape(ort, session, batch, seq, vocab, warmup, repeats) {
  const input = randomFeeds(ort, batch, seq, vocab);
  for (let i = 0; i < warmup; i++) await session.run(input);
  const runs = [];
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(input);
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const med = median(runs);
  return {
    batch, seq, median_ms: med, min_ms: Math.min(...runs), runs_ms: runs,
    tokens_per_s: (batch * seq) / (med / 1e3),
    // CPU seconds per wall second over the timed runs: how many cores were really busy.
    cores_busy: wall > 0 ? (cpu.user + cpu.system) / 1e6 / wall : 0,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new Error('onnxruntime-node is not installed: run `npm install --ignore-scripts` in ' +
      `bench/peers (${e.message.split('\n')[0]})`);
  }
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const result = {
    peer: 'onnxruntime', onnxruntime_version: ort.env.versions ? ort.env.versions.node : 'unknown',
    threads_requested: args.threads, graph_optimization_level: 'all',
  };
  if (args.golden) result.golden = await compare(ort, session, args.golden, 'bert.');
  if (args.check) result.check = await compare(ort, session, args.check, '');
  result.results = [];
  for (const [b, s] of parseShapes(args.shapes)) {
    result.results.push(await timeShape(ort, session, b, s, args.vocab, args.warmup, args.repeats));
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_bert.js: error: ${e.message}\n`);
  process.exit(1);
});
