// Writes bertkit's input_ids for every text of .jsonl(.gz) files, one line per text (ids separated
// by spaces), for scripts/parity/run.sh to compare with Hugging Face tokenizers. Encodes like
// `tokenizer(text)`: special tokens added, no truncation, no padding.
//
// usage: bench_tokenize_jsonl [--model DIR] [--threads N] FILE...
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/tokenizer.h"
#include "jsonl_texts.h"

namespace {

constexpr std::size_t kChunk = 4096;  // texts encoded per encode_batch call

void write_ids(const bertkit::BatchEncoding& batch, std::string& out) {
  for (const auto& encoding : batch.encodings) {
    for (std::size_t i = 0; i < encoding.input_ids.size(); ++i) {
      if (i > 0) out += ' ';
      out += std::to_string(encoding.input_ids[i]);
    }
    out += '\n';
  }
}

int run(int argc, char** argv) {
  std::filesystem::path model = BERTKIT_SOURCE_DIR "/tests/fixtures/bert-base-uncased";
  unsigned threads = 0;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) {
      model = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg.starts_with("--")) {
      std::cerr << "usage: bench_tokenize_jsonl [--model DIR] [--threads N] FILE...\n";
      return 2;
    } else {
      files.emplace_back(arg);
    }
  }
  const auto tokenizer = bertkit::BertTokenizer::from_pretrained(model);
  bertkit::EncodeOptions options;  // HF defaults: add_special_tokens, no truncation/padding
  std::string out;
  for (const auto& file : files) {
    const auto texts = bertkit::bench::read_jsonl_texts(file);
    for (std::size_t start = 0; start < texts.size(); start += kChunk) {
      const auto chunk = std::span(texts).subspan(start, std::min(kChunk, texts.size() - start));
      out.clear();
      write_ids(tokenizer.encode_batch(chunk, options, threads), out);
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenize_jsonl: " << e.what() << "\n";
    return 1;
  }
}
