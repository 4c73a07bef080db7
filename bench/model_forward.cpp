// Forward-pass benchmark: bertkit's BertModel vs the same model in PyTorch and in ONNX Runtime,
// measured in one run on one machine.
//
// A bert-base-shaped model (random HF-style weights, fixed seed; --bert-mini for a small one,
// --model DIR for a real folder) is saved once to a cache folder; bertkit times forward() at each
// shape, then the peers bench/peers/torch_bert.py (torch.nn, same weights) and
// bench/peers/ort_bert.js (ONNX Runtime on the ONNX export of that torch model) time the same
// shapes with the same thread count. Each peer first recomputes one padded batch that bertkit
// wrote (check.safetensors) and reports its max abs difference, so the three programs are known
// to compute the same function. Only one program runs at a time.
//
// Throughput is tokens/s = batch*seq / median forward time. "% of GEMM peak" divides the GEMM
// FLOPs of the forward (the matmuls; element-wise work is not counted) per second by the
// GFLOP/s of a large cblas_sgemm run in this process with the same threads.
//
//   bench_model_forward [--bert-mini] [--threads N] [--repeats R] [--shapes 1x128,8x128,4x512]
//                       [--model DIR] [--skip-peers] [--json results.json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "bertkit/config.h"
#include "bertkit/error.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "bertkit/tensor.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using namespace bertkit::bench;

struct Timing {
  double median_ms = 0;
  double min_ms = 0;
  double tokens_per_s = 0;
  double cores_busy = 0;  // CPU seconds per wall second over the timed runs
};

struct Options {
  std::string model_dir;
  bool bert_mini = false;
  int threads = 0;
  int repeats = 10;
  int warmup = 2;
  std::string shapes = "1x128,8x128,4x512";
  bool skip_peers = false;
  std::string cache_dir = std::string(BERTKIT_SOURCE_DIR) + "/bench/.cache/model_forward";
  std::string peers_dir = std::string(BERTKIT_SOURCE_DIR) + "/bench/peers";
  std::string python = "/usr/bin/python3";  // Debian's, where python3-torch lives
  std::string node = "node";
  std::int64_t peak_size = 4096;
  std::uint64_t seed = 42;
  std::string json_out;
};

Timing time_bertkit(bertkit::BertModel& model, Shape s, int warmup, int repeats) {
  bertkit::ModelInput in = random_input(model.config(), s, 1000 * s.batch + s.seq);
  for (int i = 0; i < warmup; ++i) model.forward(in);
  std::vector<double> runs;
  double cpu0 = cpu_seconds(), wall0 = now_seconds();
  for (int i = 0; i < repeats; ++i) {
    double t0 = now_seconds();
    model.forward(in);
    runs.push_back((now_seconds() - t0) * 1e3);
  }
  double wall = now_seconds() - wall0, cpu = cpu_seconds() - cpu0;
  Timing t;
  t.median_ms = median(runs);
  t.min_ms = *std::min_element(runs.begin(), runs.end());
  t.tokens_per_s = double(s.batch * s.seq) / (t.median_ms / 1e3);
  t.cores_busy = wall > 0 ? cpu / wall : 0;
  return t;
}

// One padded, two-segment batch and bertkit's outputs for it: the peers recompute it and report
// their max abs difference, which shows all three run the same computation.
void write_check_file(bertkit::BertModel& model, const fs::path& file) {
  const std::int64_t B = 2, S = 24;
  std::vector<std::int64_t> ids(B * S, 0), mask(B * S, 0), types(B * S, 0);
  std::mt19937_64 rng(7);
  std::int64_t vocab = model.config().vocab_size;
  std::uniform_int_distribution<std::int64_t> id(std::min<std::int64_t>(999, vocab - 1), vocab - 1);
  const std::int64_t lengths[B] = {S, 15};  // row 1 is right-padded
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t s = 0; s < lengths[b]; ++s) {
      ids[b * S + s] = id(rng);
      mask[b * S + s] = 1;
      types[b * S + s] = s >= lengths[b] / 2 ? 1 : 0;  // a sentence pair
    }
  }
  using bertkit::Tensor;
  Tensor t_ids = Tensor::from<std::int64_t>({B, S}, ids);
  Tensor t_mask = Tensor::from<std::int64_t>({B, S}, mask);
  Tensor t_types = Tensor::from<std::int64_t>({B, S}, types);
  bertkit::ModelOutput out = model.forward(t_ids, t_mask, t_types);
  bertkit::StateDict tensors;
  tensors["input_ids"] = t_ids;
  tensors["attention_mask"] = t_mask;
  tensors["token_type_ids"] = t_types;
  tensors["last_hidden_state"] = out.last_hidden_state;
  tensors["pooler_output"] = out.pooler_output;
  bertkit::save_safetensors(file, tensors);
}

std::optional<Timing> peer_timing(const std::optional<json>& peer, Shape s) {
  if (!peer || !peer->contains("results")) return std::nullopt;
  for (const json& r : (*peer)["results"]) {
    if (r.value("batch", 0) == s.batch && r.value("seq", 0) == s.seq) {
      Timing t;
      t.median_ms = r.value("median_ms", 0.0);
      t.min_ms = r.value("min_ms", 0.0);
      t.tokens_per_s = r.value("tokens_per_s", 0.0);
      t.cores_busy = r.value("cores_busy", 0.0);
      return t;
    }
  }
  return std::nullopt;
}

std::string describe_check(const std::optional<json>& peer) {
  if (!peer || !peer->contains("check")) return "not run";
  const json& c = (*peer)["check"];
  double hidden = c.value("last_hidden_state_max_abs_diff", 1e30);
  double pooled = c.value("pooler_output_max_abs_diff", 1e30);
  // float32 summation-order noise is ~1e-6 here; far more means a different function, and then the
  // timings compare different work.
  std::string verdict = std::max(hidden, pooled) < 1e-3 ? "" : "  <-- NOT THE SAME COMPUTATION";
  return "max |diff| last_hidden_state " + fmt("%.2e", hidden) + ", pooler_output " +
         fmt("%.2e", pooled) + verdict;
}

// The model under test and the folders the peers use.
struct Subject {
  std::optional<bertkit::BertModel> model;
  std::string name;
  fs::path weights_dir;  // config.json + model.safetensors, read by the PyTorch peer
  fs::path work_dir;     // model.onnx and check.safetensors
};

Subject prepare_subject(const Options& opt) {
  Subject s;
  if (!opt.model_dir.empty()) {
    s.model.emplace(bertkit::BertModel::from_pretrained(opt.model_dir, {.verbose = false}));
    fs::path source = fs::weakly_canonical(opt.model_dir);
    s.name = source.filename().string();
    // Folders of the same name elsewhere get their own ONNX export and check file.
    std::size_t path_hash = std::hash<std::string>{}(source.string());
    s.work_dir =
        fs::path(opt.cache_dir) / ("from-" + s.name + "-" + std::to_string(path_hash % 1000000));
    fs::create_directories(s.work_dir);
    s.weights_dir = opt.model_dir;
    if (!fs::exists(s.weights_dir / "model.safetensors")) {
      // The peers read safetensors only: give them a copy of the weights bertkit loaded.
      s.model->save_pretrained(s.work_dir / "weights");
      s.weights_dir = s.work_dir / "weights";
    }
    return s;
  }
  s.name = std::string(opt.bert_mini ? "bert-mini" : "bert-base") + "-random-seed" +
           std::to_string(opt.seed);
  s.work_dir = s.weights_dir = fs::path(opt.cache_dir) / s.name;
  if (fs::exists(s.weights_dir / "model.safetensors") &&
      fs::exists(s.weights_dir / "config.json")) {
    std::cerr << "loading cached " << s.weights_dir.string() << "\n";
    s.model.emplace(
        bertkit::BertModel::from_pretrained(s.weights_dir.string(), {.verbose = false}));
  } else {
    std::cerr << "initialising " << s.name << " and saving it to " << s.weights_dir.string()
              << "\n";
    s.model.emplace(
        bertkit::BertModel::init(random_model_config(opt.bert_mini, "BertModel"), opt.seed));
    s.model->save_pretrained(s.weights_dir);
  }
  return s;
}

struct PeerResults {
  std::optional<json> torch;
  std::optional<json> ort;
};

// The peers, one after the other, after bertkit (nothing else of ours is running then).
PeerResults run_peers(const Options& opt, const Subject& subject, int threads,
                      const fs::path& check_file) {
  PeerResults r;
  const std::string common = " --threads " + std::to_string(threads) + " --shapes " +
                             shell_quote(opt.shapes) + " --warmup " + std::to_string(opt.warmup) +
                             " --repeats " + std::to_string(opt.repeats) + " --check " +
                             shell_quote(check_file.string());
  const fs::path onnx_file = subject.work_dir / "model.onnx";

  if (!succeeds(shell_quote(opt.python) + " -c 'import torch, numpy'")) {
    std::cerr << "PyTorch peer skipped: " << opt.python << " cannot import torch. Install it "
              << "with scripts/bench-deps.sh (apt-get install python3-torch).\n";
  } else {
    // The ONNX export is redone whenever the weights are newer than it.
    const fs::path weights_file = subject.weights_dir / "model.safetensors";
    bool export_onnx = !fs::exists(onnx_file) ||
                       fs::last_write_time(onnx_file) < fs::last_write_time(weights_file);
    r.torch = run_peer(
        "pytorch", shell_quote(opt.python) + " " + shell_quote(opt.peers_dir + "/torch_bert.py") +
                       " --model " + shell_quote(subject.weights_dir.string()) + common +
                       (export_onnx ? " --export-onnx " + shell_quote(onnx_file.string()) : ""));
  }

  const fs::path ort_package = fs::path(opt.peers_dir) / "node_modules/onnxruntime-node";
  if (!succeeds(shell_quote(opt.node) + " --version") || !fs::exists(ort_package)) {
    std::cerr << "ONNX Runtime peer skipped: needs node and onnxruntime-node; install them with "
                 "scripts/bench-deps.sh (cd bench/peers && npm install --ignore-scripts).\n";
  } else if (!fs::exists(onnx_file)) {
    std::cerr << "ONNX Runtime peer skipped: no " << onnx_file.string()
              << " (the PyTorch peer exports it; it needs python3-torch).\n";
  } else {
    r.ort = run_peer("onnxruntime",
                     shell_quote(opt.node) + " " + shell_quote(opt.peers_dir + "/ort_bert.js") +
                         " --model " + shell_quote(onnx_file.string()) + " --vocab " +
                         std::to_string(subject.model->config().vocab_size) + common);
  }
  return r;
}

json timing_json(const Timing& t) {
  return {{"median_ms", t.median_ms},
          {"min_ms", t.min_ms},
          {"tokens_per_s", t.tokens_per_s},
          {"cores_busy", t.cores_busy}};
}

struct Measurement {
  std::string model_name;
  int threads = 0;
  double peak_gflops = 0;
  double load_before = 0;
  std::vector<Shape> shapes;
  std::vector<Timing> bertkit;
  PeerResults peers;
};

// The table on stdout; every number also goes into the returned JSON.
json report(const Options& opt, const bertkit::BertConfig& config, const Measurement& m) {
  std::printf(
      "\n%s: %lld layers, hidden %lld, %lld heads, intermediate %lld, vocab %lld; %d threads;\n"
      "median of %d runs after %d warm-up. GEMM peak of this machine: %.1f GFLOP/s (cblas_sgemm "
      "%lld^3 in this process, same threads).\n"
      "ratios are bertkit tokens/s over the peer's (> 1: bertkit faster); %% of peak counts "
      "matmul FLOPs only.\n\n",
      m.model_name.c_str(), (long long)config.num_hidden_layers, (long long)config.hidden_size,
      (long long)config.num_attention_heads, (long long)config.intermediate_size,
      (long long)config.vocab_size, m.threads, opt.repeats, opt.warmup, m.peak_gflops,
      (long long)opt.peak_size);
  std::printf("%-8s %12s %12s %12s %10s %10s %9s %8s %16s\n", "shape", "bertkit", "PyTorch", "ORT",
              "bk/PyTorch", "bk/ORT", "GFLOP/s", "% peak", "cores bk/pt/ort");
  std::printf("%-8s %12s %12s %12s\n", "", "tokens/s", "tokens/s", "tokens/s");
  json out = {{"model", m.model_name},
              {"threads", m.threads},
              {"repeats", opt.repeats},
              {"warmup", opt.warmup},
              {"gemm_peak_gflops", m.peak_gflops},
              {"gemm_peak_size", opt.peak_size},
              {"load_average_before", m.load_before}};
  for (std::size_t i = 0; i < m.shapes.size(); ++i) {
    Shape s = m.shapes[i];
    const Timing& t = m.bertkit[i];
    std::optional<Timing> pt = peer_timing(m.peers.torch, s), ort = peer_timing(m.peers.ort, s);
    double gflops = forward_flops(config, s) / (t.median_ms / 1e3) / 1e9;
    auto cell = [](const std::optional<Timing>& p, const char* format, int width, auto value) {
      return p ? fmt(format, value(*p)) : std::string(width - 1, ' ') + "-";
    };
    auto tps = [](const Timing& p) { return p.tokens_per_s; };
    auto ratio = [&](const Timing& p) { return t.tokens_per_s / p.tokens_per_s; };
    auto cores = [](const std::optional<Timing>& p) {
      return p ? fmt("%.1f", p->cores_busy) : std::string("-");
    };
    std::string shape = std::to_string(s.batch) + "x" + std::to_string(s.seq);
    std::string busy = fmt("%.1f", t.cores_busy) + "/" + cores(pt) + "/" + cores(ort);
    std::printf("%-8s %12.0f %s %s %s %s %9.1f %7.1f%% %16s\n", shape.c_str(), t.tokens_per_s,
                cell(pt, "%12.0f", 12, tps).c_str(), cell(ort, "%12.0f", 12, tps).c_str(),
                cell(pt, "%10.2f", 10, ratio).c_str(), cell(ort, "%10.2f", 10, ratio).c_str(),
                gflops, 100.0 * gflops / m.peak_gflops, busy.c_str());
    json row = {{"batch", s.batch},
                {"seq", s.seq},
                {"bertkit", timing_json(t)},
                {"gflops", gflops},
                {"fraction_of_gemm_peak", gflops / m.peak_gflops}};
    if (pt) row["pytorch"] = timing_json(*pt);
    if (ort) row["onnxruntime"] = timing_json(*ort);
    out["shapes"].push_back(row);
  }
  std::printf("\nsame computation (one padded 2x24 sentence-pair batch, vs bertkit's output):\n");
  std::printf("  PyTorch:      %s\n", describe_check(m.peers.torch).c_str());
  std::printf("  ONNX Runtime: %s\n", describe_check(m.peers.ort).c_str());
  if (m.peers.torch)
    std::printf("  (PyTorch %s, torch.get_num_threads() = %d)\n",
                m.peers.torch->value("torch_version", std::string("?")).c_str(),
                m.peers.torch->value("torch_num_threads", 0));
  if (m.peers.ort)
    std::printf("  (onnxruntime-node %s, graph optimisation level all)\n",
                m.peers.ort->value("onnxruntime_version", std::string("?")).c_str());
  const double load_after = load_average();
  std::printf(
      "load average (1 min) %.2f before bertkit, %.2f after the peers: timings on a busy machine\n"
      "are noisy; compare runs made on a quiet one.\n",
      m.load_before, load_after);
  out["load_average_after"] = load_after;
  if (m.peers.torch) out["pytorch_peer"] = *m.peers.torch;
  if (m.peers.ort) out["onnxruntime_peer"] = *m.peers.ort;
  return out;
}

int run(const Options& opt) {
  Measurement m;
  m.shapes = parse_shapes(opt.shapes, "--shapes");
  bertkit::set_num_threads(opt.threads);
  m.threads = bertkit::num_threads();

  Subject subject = prepare_subject(opt);
  m.model_name = subject.name;
  bertkit::BertModel& model = *subject.model;
  const bertkit::BertConfig& config = model.config();
  for (Shape s : m.shapes)
    if (s.seq > config.max_position_embeddings)
      throw bertkit::InvalidArgument("--shapes: sequence length " + std::to_string(s.seq) +
                                     " exceeds the model's max_position_embeddings " +
                                     std::to_string(config.max_position_embeddings));
  const fs::path check_file = subject.work_dir / "check.safetensors";
  write_check_file(model, check_file);

  std::cerr << "measuring the GEMM peak (cblas_sgemm " << opt.peak_size << "^3, " << m.threads
            << " threads)\n";
  m.peak_gflops = gemm_peak_gflops(opt.peak_size);

  m.load_before = load_average();
  for (Shape s : m.shapes) {
    std::cerr << "bertkit " << s.batch << "x" << s.seq << "\n";
    m.bertkit.push_back(time_bertkit(model, s, opt.warmup, opt.repeats));
  }
  if (!opt.skip_peers) m.peers = run_peers(opt, subject, m.threads, check_file);

  json out = report(opt, config, m);
  if (!opt.json_out.empty()) std::ofstream(opt.json_out) << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"bertkit forward pass vs PyTorch vs ONNX Runtime (same model, same threads)"};
  app.add_option("--model", opt.model_dir, "model folder to load (default: a random model)");
  app.add_flag("--bert-mini", opt.bert_mini, "random 4-layer, 256-hidden model (a fast run)");
  app.add_option("--threads", opt.threads, "threads for every program (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", opt.repeats, "timed forwards per shape (median reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", opt.warmup, "untimed forwards per shape first")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--shapes", opt.shapes, "BATCHxSEQ,... to time")->capture_default_str();
  app.add_flag("--skip-peers", opt.skip_peers, "time bertkit only");
  app.add_option("--cache", opt.cache_dir, "folder for the random model, ONNX export, check file")
      ->capture_default_str();
  app.add_option("--peers", opt.peers_dir, "folder of torch_bert.py / ort_bert.js")
      ->capture_default_str();
  app.add_option("--python", opt.python, "interpreter with torch")->capture_default_str();
  app.add_option("--node", opt.node, "node executable")->capture_default_str();
  app.add_option("--peak-size", opt.peak_size, "n of the n^3 sgemm measuring the GEMM peak")
      ->check(CLI::Range(std::int64_t{64}, std::int64_t{16384}));
  app.add_option("--seed", opt.seed, "seed of the random model");
  app.add_option("--json", opt.json_out, "also write every number to this JSON file");
  CLI11_PARSE(app, argc, argv);
  if (opt.threads == 0) opt.threads = static_cast<int>(std::thread::hardware_concurrency());
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::cerr << "bench_model_forward: error: " << e.what() << "\n";
    return 1;
  }
}
