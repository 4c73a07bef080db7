// Shared helpers for the Node scripts that run Hugging Face's Rust tokenizers beside bertkit:
// finding the npm package (scripts/parity or bench/peers node_modules) and reading IMDB-style
// .jsonl(.gz) files.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const PACKAGE = '@anush008/tokenizers';
const REPO_ROOT = path.resolve(__dirname, '..', '..');

const INSTALL_HINT =
  `HF tokenizers for Node is not installed. Install it once with:\n` +
  `  cd ${path.join(REPO_ROOT, 'scripts', 'parity')} && npm install --ignore-scripts\n` +
  `(needs node >= 18 and npm; the package ships a prebuilt linux-x64 binary as the optional\n` +
  ` dependency @anush008/tokenizers-linux-x64-gnu, so no Rust toolchain is needed)`;

// Returns the package's exports, or null (after printing how to install it) when it is missing.
function loadTokenizers() {
  const searchPaths = [
    path.join(REPO_ROOT, 'scripts', 'parity'),
    path.join(REPO_ROOT, 'bench', 'peers'),
  ];
  try {
    return require(require.resolve(PACKAGE, {paths: searchPaths}));
  } catch (e) {
    console.error(INSTALL_HINT);
    console.error(`(loading failed with: ${e.message.split('\n')[0]})`);
    return null;
  }
}

// The "text" field of every line of a .jsonl or .jsonl.gz file, in file order.
function readJsonlTexts(file, field = 'text', limit = Infinity) {
  let data = fs.readFileSync(file);
  if (file.endsWith('.gz')) data = zlib.gunzipSync(data);
  const texts = [];
  let start = 0;
  while (start < data.length && texts.length < limit) {
    let end = data.indexOf(0x0a, start);
    if (end < 0) end = data.length;
    if (end > start) {
      const record = JSON.parse(data.toString('utf8', start, end));
      if (typeof record[field] !== 'string') {
        throw new Error(`${file}:${texts.length + 1}: no string field "${field}"`);
      }
      texts.push(record[field]);
    }
    start = end + 1;
  }
  return texts;
}

module.exports = {loadTokenizers, readJsonlTexts, INSTALL_HINT, REPO_ROOT};
