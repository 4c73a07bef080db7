// What the peer benchmarks (model_forward, model_train_step) share: shapes, clocks, the GEMM
// peak, and running a peer program that prints its result as one JSON line. Header-only because
// every bench/*.cpp is its own executable.
#pragma once

#include <cblas.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bertkit/config.h"
#include "bertkit/error.h"
#include "bertkit/model.h"

namespace bertkit::bench {

struct Shape {
  std::int64_t batch = 0;
  std::int64_t seq = 0;
  std::string name() const { return std::to_string(batch) + "x" + std::to_string(seq); }
};

// "8x128,4x512" -> shapes; InvalidArgument naming the bad item (`flag` says which option).
inline std::vector<Shape> parse_shapes(const std::string& text, const std::string& flag) {
  std::vector<Shape> shapes;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    std::size_t x = item.find_first_of("xX");
    Shape s;
    try {
      if (x == std::string::npos) throw std::invalid_argument("no x");
      std::size_t used_b = 0, used_s = 0;
      s.batch = std::stoll(item.substr(0, x), &used_b);
      s.seq = std::stoll(item.substr(x + 1), &used_s);
      if (used_b != x || used_s != item.size() - x - 1) throw std::invalid_argument("junk");
    } catch (const std::logic_error&) {
      throw InvalidArgument(flag + ": '" + item + "' is not BATCHxSEQ (e.g. 8x128)");
    }
    if (s.batch <= 0 || s.seq <= 0)
      throw InvalidArgument(flag + ": '" + item + "' must have positive sizes");
    shapes.push_back(s);
    start = end + 1;
  }
  return shapes;
}

inline double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

// The process's peak resident set so far, in MiB (Linux reports ru_maxrss in KiB).
inline double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

// The process's resident set now, in MiB (VmRSS of /proc/self/status; -1 when unreadable).
inline double current_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kib = -1;
      in >> kib;
      return kib / 1024.0;
    }
    in.ignore(1 << 20, '\n');
  }
  return -1;
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Matmul FLOPs of BertModel's forward: Q,K,V,O (4 H^2) and the FFN (2 H I) per token and layer,
// scores and context (2 S H each) per token and layer, and the pooler on the [CLS] rows.
inline double forward_flops(const BertConfig& c, Shape s) {
  double tokens = double(s.batch * s.seq), H = double(c.hidden_size);
  double I = double(c.intermediate_size), S = double(s.seq);
  double per_token_layer = 2.0 * (4.0 * H * H + 2.0 * H * I) + 2.0 * (2.0 * S * H);
  return tokens * per_token_layer * double(c.num_hidden_layers) + 2.0 * double(s.batch) * H * H;
}

// GFLOP/s of the best of 3 square cblas_sgemm runs (after one warm-up), on the threads that
// bertkit::set_num_threads gave OpenBLAS.
inline double gemm_peak_gflops(std::int64_t n) {
  std::vector<float> a(n * n), b(n * n), c(n * n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  const int ni = static_cast<int>(n);
  double best = 1e30;
  for (int run = 0; run < 4; ++run) {
    double t0 = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.f, a.data(), ni, b.data(),
                ni, 0.f, c.data(), ni);
    if (run > 0) best = std::min(best, now_seconds() - t0);
  }
  return 2.0 * double(n) * double(n) * double(n) / best / 1e9;
}

// A random model's config: bert-base's shape, or google/bert_uncased_L-4_H-256_A-4's (bert-mini).
inline BertConfig random_model_config(bool bert_mini, const std::string& architecture) {
  BertConfig config = bert_mini ? BertConfig::bert_mini() : BertConfig::bert_base();
  config.architectures = {architecture};
  return config;
}

// Timing inputs: fixed-seed ordinary-token ids, a [CLS] first, full attention, segment 0.
inline ModelInput random_input(const BertConfig& c, Shape s, std::uint64_t seed) {
  ModelInput in;
  in.batch_size = s.batch;
  in.seq_length = s.seq;
  std::mt19937_64 rng(seed);
  std::int64_t lo = c.vocab_size > 1000 ? 1000 : 1;
  std::uniform_int_distribution<std::int64_t> id(lo, c.vocab_size - 1);
  in.input_ids.resize(static_cast<std::size_t>(s.batch * s.seq));
  for (std::size_t i = 0; i < in.input_ids.size(); ++i)
    in.input_ids[i] = static_cast<std::int32_t>(
        i % s.seq == 0 ? std::min<std::int64_t>(101, c.vocab_size - 1) : id(rng));
  in.attention_mask.assign(in.input_ids.size(), 1);
  in.token_type_ids.assign(in.input_ids.size(), 0);
  return in;
}

// The 1-minute load average: other work on the machine shows up here and in "cores busy".
inline double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `command` (stderr passes through), returns its stdout, or nullopt when it failed.
inline std::optional<std::string> run_capture(const std::string& command) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

inline bool succeeds(const std::string& command) {
  return run_capture(command + " >/dev/null 2>&1").has_value();
}

// Runs a peer (or a worker process of ours); the last line of its stdout is its JSON result.
inline std::optional<nlohmann::json> run_peer(const std::string& name, const std::string& command) {
  std::cerr << "[" << name << "] " << command << "\n";
  std::optional<std::string> out = run_capture(command);
  if (!out) {
    std::cerr << "[" << name << "] failed (see its message above); its column stays empty\n";
    return std::nullopt;
  }
  std::size_t end = out->find_last_not_of("\n");
  std::size_t begin = end == std::string::npos ? 0 : out->rfind('\n', end);
  begin = begin == std::string::npos ? 0 : begin + 1;
  try {
    return nlohmann::json::parse(
        out->substr(begin, end == std::string::npos ? 0 : end - begin + 1));
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "[" << name << "] printed no JSON result: " << e.what() << "\n";
    return std::nullopt;
  }
}

inline std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace bertkit::bench
