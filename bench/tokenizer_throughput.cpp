// Tokenizer throughput: bertkit vs Hugging Face tokenizers (Rust, through its Node bindings) on
// the IMDB train reviews, in one run. Both encode like `tokenizer(text)`: special tokens added,
// no truncation, no padding. Each figure is the best of --repeat runs.
//
//   bertkit encode() loop       one thread, one text at a time
//   bertkit encode_batch        num_threads = 1, and num_threads = 0 (all cores)
//   HF encode() loop            one awaited call per text, RAYON_NUM_THREADS=1
//   HF encodeBatch              RAYON_NUM_THREADS=1 + TOKENIZERS_PARALLELISM=false, and all threads
//
// The HF side runs bench/peers/hf_tokenizers.js as a subprocess; without node or the npm package
// it prints how to install them and bertkit's numbers stand alone.
//
// usage: bench_tokenizer_throughput [--model DIR] [--data FILE] [--limit N] [--repeat R]
//                                   [--no-peer]
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bertkit/tokenizer.h"
#include "jsonl_texts.h"

namespace {

namespace fs = std::filesystem;

struct Options {
  fs::path model = BERTKIT_SOURCE_DIR "/tests/fixtures/bert-base-uncased";
  fs::path data = BERTKIT_SOURCE_DIR "/../shared/data/imdb/train.jsonl.gz";
  std::size_t limit = 25000;
  int repeat = 3;
  bool peer = true;
};

struct Result {
  std::string name;
  std::size_t texts = 0;
  std::size_t bytes = 0;
  std::size_t tokens = 0;
  double seconds = 0;

  double texts_per_second() const { return static_cast<double>(texts) / seconds; }
  double megabytes_per_second() const { return static_cast<double>(bytes) / 1e6 / seconds; }
};

// Shortest wall time of `repeat` runs of `fn`, which returns the number of tokens it produced.
template <typename Fn>
Result best_of(std::string name, const std::vector<std::string>& texts, int repeat, Fn fn) {
  Result r{std::move(name), texts.size(), bertkit::bench::total_bytes(texts), 0, 1e300};
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    r.tokens = fn();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    r.seconds = std::min(r.seconds, took.count());
  }
  return r;
}

std::size_t count_tokens(const bertkit::BatchEncoding& batch) {
  std::size_t tokens = 0;
  for (const auto& e : batch.encodings) tokens += e.size();
  return tokens;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* const kInstallHint =
    "  HF tokenizers peer skipped. To compare, install Node.js >= 18 with npm (Debian: apt-get\n"
    "  install nodejs npm) and the package once:\n"
    "    cd " BERTKIT_SOURCE_DIR "/scripts/parity && npm install --ignore-scripts\n";

// Runs the Node peer with `env` prefixed (thread settings) and collects its RESULT lines.
// Returns nullopt, after saying why, when node or the package is missing.
std::optional<std::vector<Result>> run_peer(const Options& opt, const std::string& env,
                                            const std::string& extra_args) {
  const std::string script = BERTKIT_SOURCE_DIR "/bench/peers/hf_tokenizers.js";
  const std::string command = env + " node " + shell_quote(script) + " --tokenizer " +
                              shell_quote((opt.model / "tokenizer.json").string()) + " --data " +
                              shell_quote(opt.data.string()) + " --limit " +
                              std::to_string(opt.limit) + " --repeat " +
                              std::to_string(opt.repeat) + " " + extra_args;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::vector<Result> results;
  std::string line;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    line += buffer;
    if (line.back() != '\n') continue;
    if (line.starts_with("RESULT ")) {
      const auto j = nlohmann::json::parse(line.substr(7));
      results.push_back(
          {j.at("name"), j.at("texts"), j.at("bytes"), j.at("tokens"), j.at("seconds")});
    }
    line.clear();
  }
  const int status = pclose(pipe);
  if (status != 0) {
    std::cout << "  (the HF peer exited with status " << WEXITSTATUS(status) << ")\n";
    if (results.empty()) return std::nullopt;
  }
  return results;
}

void print(const Result& r) {
  std::printf("  %-44s %9.0f texts/s %8.2f MB/s %10zu tokens %8.3f s\n", r.name.c_str(),
              r.texts_per_second(), r.megabytes_per_second(), r.tokens, r.seconds);
}

void print_ratio(const char* what, const Result& ours, const Result* theirs) {
  if (theirs == nullptr) return;
  std::printf("  %-44s %6.2fx", what, theirs->seconds / ours.seconds);
  if (ours.tokens != theirs->tokens) {
    std::printf("   (token counts differ: %zu vs %zu -- see scripts/parity/run.sh)", ours.tokens,
                theirs->tokens);
  }
  std::printf("\n");
}

Options parse_args(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--model" && has_value) {
      opt.model = argv[++i];
    } else if (arg == "--data" && has_value) {
      opt.data = argv[++i];
    } else if (arg == "--limit" && has_value) {
      opt.limit = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--repeat" && has_value) {
      opt.repeat = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--no-peer") {
      opt.peer = false;
    } else {
      throw std::invalid_argument(
          "usage: bench_tokenizer_throughput [--model DIR] [--data FILE] [--limit N] "
          "[--repeat R] [--no-peer]");
    }
  }
  return opt;
}

int run(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  const auto tokenizer = bertkit::BertTokenizer::from_pretrained(opt.model);
  const auto texts = bertkit::bench::read_jsonl_texts(opt.data, "text", opt.limit);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf("tokenizer throughput: %zu texts, %.1f MB from %s\n", texts.size(),
              static_cast<double>(bertkit::bench::total_bytes(texts)) / 1e6,
              opt.data.string().c_str());
  std::printf("model %s, best of %d, %u hardware threads\n\n", opt.model.string().c_str(),
              opt.repeat, cores);

  const bertkit::EncodeOptions encode_options;
  (void)tokenizer.encode_batch(std::span(texts).first(std::min<std::size_t>(200, texts.size())),
                               encode_options, 1);  // warm-up

  const Result loop = best_of("bertkit encode() loop (1 thread)", texts, opt.repeat, [&] {
    std::size_t tokens = 0;
    for (const auto& t : texts) tokens += tokenizer.encode(t, encode_options).size();
    return tokens;
  });
  print(loop);
  const Result one = best_of("bertkit encode_batch (1 thread)", texts, opt.repeat, [&] {
    return count_tokens(tokenizer.encode_batch(texts, encode_options, 1));
  });
  print(one);
  const Result all =
      best_of("bertkit encode_batch (all " + std::to_string(cores) + " threads)", texts, opt.repeat,
              [&] { return count_tokens(tokenizer.encode_batch(texts, encode_options, 0)); });
  print(all);
  std::fflush(stdout);

  if (!opt.peer) return 0;
  if (std::system("command -v node >/dev/null 2>&1") != 0) {
    std::printf("\n  node not found on PATH.\n%s", kInstallHint);
    return 0;
  }
  auto single =
      run_peer(opt, "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false", "--label ' (1 thread)'");
  if (!single) {
    std::printf("%s", kInstallHint);
    return 0;
  }
  auto parallel = run_peer(opt, "env -u RAYON_NUM_THREADS TOKENIZERS_PARALLELISM=true",
                           "--no-loop --label ' (all threads)'");
  std::vector<Result> peers = *single;
  if (parallel) peers.insert(peers.end(), parallel->begin(), parallel->end());
  for (const auto& r : peers) print(r);

  auto find = [&](const std::string& prefix) -> const Result* {
    for (const auto& r : peers) {
      if (r.name.starts_with(prefix)) return &r;
    }
    return nullptr;
  };
  std::printf("\nspeed-up bertkit / HF (same texts, wall time):\n");
  print_ratio("encode() loop, 1 thread", loop, find("HF tokenizers encode() loop (1 thread)"));
  print_ratio("batch, 1 thread (goal >= 3x)", one, find("HF tokenizers encodeBatch (1 thread)"));
  print_ratio("batch, all threads", all, find("HF tokenizers encodeBatch (all threads)"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenizer_throughput: " << e.what() << "\n";
    return 1;
  }
}
