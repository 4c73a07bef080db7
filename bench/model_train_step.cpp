// Training-step benchmark: one Trainer optimizer step of BertForSequenceClassification in bertkit
// vs the same step in PyTorch, measured in one run on one machine, ratio printed.
//
// A step is what Trainer does per batch: zero_grad, forward in train mode (dropout on) with
// cross-entropy loss, backward, clip_grad_norm(1.0), AdamW (two groups, weight decay 0.01 on all
// but biases and LayerNorm weights) and the linear schedule's step. Random HF-initialised models
// of the bert-base and bert-mini shapes (fixed seed, 2 labels) are saved once to a cache folder;
// for every shape bertkit and the PyTorch peer (bench/peers/torch_bert_train.py, torch.nn, the
// same weights) each run in a fresh process of their own, one after the other, so that each
// process's peak resident memory (ru_maxrss: weights, gradients, AdamW moments, activations and
// the runtime itself) is that shape's alone.
//
// Before timing, the peer recomputes one step on a padded sentence-pair batch that bertkit wrote
// (check.safetensors: eval mode, so no dropout; loss, gradient norm, several gradients and the
// parameters after AdamW) and reports the differences: both programs compute the same step.
//
// Throughput: samples/s = batch / median step time, tokens/s = batch*seq / median step time.
// GFLOP/s counts the matmuls only, as 3x the forward's (backward = two matmuls per forward one).
//
//   bench_model_train_step [--models bert-base,bert-mini] [--base-shapes 4x128,4x512]
//                          [--mini-shapes 8x128,8x512] [--threads N] [--repeats R] [--warmup W]
//                          [--no-dropout] [--skip-peers] [--json results.json]
#include <CLI/CLI.hpp>
#include <algorithm>
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
#include "bertkit/optimization.h"
#include "bertkit/serialization.h"
#include "bertkit/tensor.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using namespace bertkit::bench;

// Trainer's settings for the timed steps (the notebook's weight decay; HF defaults otherwise).
constexpr double kLearningRate = 5e-5;
constexpr double kWeightDecay = 0.01;
constexpr double kMaxGradNorm = 1.0;
constexpr std::int64_t kWarmupSteps = 2;
constexpr std::int64_t kTrainingSteps = 1000;
// The check step uses a large constant lr so that the update itself is visible in the params.
constexpr double kCheckLearningRate = 1e-3;
// Tensors whose gradient and post-step value the check compares (all small enough to store).
const char* const kCheckedTensors[] = {
    "classifier.weight",
    "bert.pooler.dense.weight",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.0.output.LayerNorm.weight",
    "bert.encoder.layer.0.intermediate.dense.bias",
    "bert.embeddings.position_embeddings.weight",
    "bert.embeddings.token_type_embeddings.weight",
};

struct Options {
  std::string models = "bert-base,bert-mini";
  std::string base_shapes = "4x128,4x512";
  std::string mini_shapes = "8x128,8x512";
  int threads = 0;
  int repeats = 5;
  int warmup = 1;
  bool no_dropout = false;
  bool skip_peers = false;
  std::string cache_dir = std::string(BERTKIT_SOURCE_DIR) + "/bench/.cache/model_train_step";
  std::string peers_dir = std::string(BERTKIT_SOURCE_DIR) + "/bench/peers";
  std::string python = "/usr/bin/python3";  // Debian's, where python3-torch lives
  std::int64_t peak_size = 4096;
  std::uint64_t seed = 42;
  std::string json_out;
  // The worker: one shape, this process, JSON on stdout.
  bool worker = false;
  std::string weights;
  std::string shape;
};

// What a worker measured (ours or the peer's, same keys).
struct StepTiming {
  double median_ms = 0;
  double min_ms = 0;
  double samples_per_s = 0;
  double tokens_per_s = 0;
  double peak_rss_mib = 0;
  double cores_busy = 0;
};

std::optional<StepTiming> timing_from(const std::optional<json>& j) {
  if (!j || !j->contains("median_ms")) return std::nullopt;
  StepTiming t;
  t.median_ms = j->value("median_ms", 0.0);
  t.min_ms = j->value("min_ms", 0.0);
  t.samples_per_s = j->value("samples_per_s", 0.0);
  t.tokens_per_s = j->value("tokens_per_s", 0.0);
  t.peak_rss_mib = j->value("peak_rss_mib", 0.0);
  t.cores_busy = j->value("cores_busy", 0.0);
  return t;
}

std::vector<std::int64_t> random_labels(std::int64_t batch, std::int64_t num_labels,
                                        std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> label(0, num_labels - 1);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = label(rng);
  return labels;
}

// Trainer's optimizer and clipping around the model's forward + backward.
struct TrainingStep {
  bertkit::BertForSequenceClassification& model;
  std::vector<bertkit::ParameterSlice> slices = model.parameter_slices();
  bertkit::AdamW optimizer{bertkit::trainer_param_groups(slices, kWeightDecay),
                           static_cast<std::int64_t>(model.parameters().size()),
                           {.lr = kLearningRate}};
  bertkit::LRScheduler scheduler{bertkit::SchedulerType::kLinear, kLearningRate, kWarmupSteps,
                                 kTrainingSteps};

  // Returns the loss.
  float run(const bertkit::ModelInput& input, std::span<const std::int64_t> labels) {
    model.zero_grad();
    const float loss = model.train_step_forward_backward(input, labels);
    bertkit::clip_grad_norm(model.gradients(), slices, kMaxGradNorm);
    optimizer.set_lr(scheduler.get_last_lr());
    optimizer.step(model.parameters(), model.gradients());
    scheduler.step();
    return loss;
  }
};

// --worker: loads the model, times `repeats` steps at one shape, prints one JSON line.
int run_worker(const Options& opt) {
  bertkit::set_num_threads(opt.threads);
  std::vector<Shape> shapes = parse_shapes(opt.shape, "--shape");
  if (shapes.size() != 1) throw bertkit::InvalidArgument("--worker times exactly one --shape");
  const Shape s = shapes[0];
  auto model =
      bertkit::BertForSequenceClassification::from_pretrained(opt.weights, {.verbose = false});
  model.set_training(!opt.no_dropout, opt.seed);
  const double rss_after_load = current_rss_mib();
  TrainingStep step{model};
  const bertkit::ModelInput input = random_input(model.config(), s, 1000 * s.batch + s.seq);
  const std::vector<std::int64_t> labels = random_labels(s.batch, model.num_labels(), s.seq);

  float first_loss = 0, last_loss = 0;
  for (int i = 0; i < opt.warmup; ++i) first_loss = step.run(input, labels);
  std::vector<double> runs;
  const double cpu0 = cpu_seconds(), wall0 = now_seconds();
  for (int i = 0; i < opt.repeats; ++i) {
    const double t0 = now_seconds();
    last_loss = step.run(input, labels);
    runs.push_back((now_seconds() - t0) * 1e3);
  }
  const double wall = now_seconds() - wall0, cpu = cpu_seconds() - cpu0;
  const double med = median(runs);
  json out = {{"peer", "bertkit"},
              {"batch", s.batch},
              {"seq", s.seq},
              {"threads", bertkit::num_threads()},
              {"median_ms", med},
              {"min_ms", *std::min_element(runs.begin(), runs.end())},
              {"runs_ms", runs},
              {"samples_per_s", double(s.batch) / (med / 1e3)},
              {"tokens_per_s", double(s.batch * s.seq) / (med / 1e3)},
              {"cores_busy", wall > 0 ? cpu / wall : 0.0},
              {"rss_after_load_mib", rss_after_load},
              {"peak_rss_mib", peak_rss_mib()},
              {"loss_first", first_loss},
              {"loss_last", last_loss}};
  std::cout << out.dump() << "\n";
  return 0;
}

// One padded sentence-pair batch, one eval-mode step at a constant lr, and what it produced.
void write_check_file(const fs::path& weights, const fs::path& file) {
  auto model =
      bertkit::BertForSequenceClassification::from_pretrained(weights.string(), {.verbose = false});
  const std::int64_t B = 3, S = 24;
  std::vector<std::int64_t> ids(B * S, 0), mask(B * S, 0), types(B * S, 0);
  std::mt19937_64 rng(7);
  const std::int64_t vocab = model.config().vocab_size;
  std::uniform_int_distribution<std::int64_t> id(std::min<std::int64_t>(999, vocab - 1), vocab - 1);
  const std::int64_t lengths[B] = {S, 15, 9};  // rows 1 and 2 are right-padded
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t s = 0; s < lengths[b]; ++s) {
      ids[b * S + s] = s == 0 ? 101 : id(rng);
      mask[b * S + s] = 1;
      types[b * S + s] = s >= lengths[b] / 2 ? 1 : 0;
    }
  }
  const std::vector<std::int64_t> labels = {1, 0, 1};
  using bertkit::Tensor;
  Tensor t_ids = Tensor::from<std::int64_t>({B, S}, ids);
  Tensor t_mask = Tensor::from<std::int64_t>({B, S}, mask);
  Tensor t_types = Tensor::from<std::int64_t>({B, S}, types);
  const bertkit::ModelInput input = bertkit::ModelInput::from_tensors(t_ids, t_mask, t_types);

  TrainingStep step{model};
  step.scheduler = bertkit::LRScheduler(bertkit::SchedulerType::kConstant, kCheckLearningRate, 0,
                                        kTrainingSteps);
  model.zero_grad();
  const float loss = model.train_step_forward_backward(input, labels);
  bertkit::StateDict tensors;
  auto copy_of = [&](std::span<const float> arena, const bertkit::ParameterSlice& slice) {
    std::vector<float> v(arena.begin() + slice.offset, arena.begin() + slice.offset + slice.numel);
    return Tensor::from<float>(
        slice.shape.empty() ? std::vector<std::int64_t>{slice.numel} : slice.shape, v);
  };
  for (const auto& slice : step.slices)
    for (const char* name : kCheckedTensors)
      if (slice.name == name) tensors["grad." + slice.name] = copy_of(model.gradients(), slice);
  const float norm = bertkit::clip_grad_norm(model.gradients(), step.slices, kMaxGradNorm);
  step.optimizer.set_lr(step.scheduler.get_last_lr());
  step.optimizer.step(model.parameters(), model.gradients());
  for (const auto& slice : step.slices)
    for (const char* name : kCheckedTensors)
      if (slice.name == name)
        tensors["param_after." + slice.name] = copy_of(model.parameters(), slice);
  tensors["input_ids"] = t_ids;
  tensors["attention_mask"] = t_mask;
  tensors["token_type_ids"] = t_types;
  tensors["labels"] = Tensor::from<std::int64_t>({B}, labels);
  tensors["loss"] = Tensor::from<float>({1}, std::vector<float>{loss});
  tensors["grad_norm"] = Tensor::from<float>({1}, std::vector<float>{norm});
  tensors["lr"] = Tensor::from<float>({1}, std::vector<float>{float(kCheckLearningRate)});
  bertkit::save_safetensors(file, tensors);
}

// The random model of one name, saved once (config.json + model.safetensors).
fs::path prepare_weights(const Options& opt, const std::string& model_name) {
  if (model_name != "bert-base" && model_name != "bert-mini")
    throw bertkit::InvalidArgument("--models: unknown '" + model_name +
                                   "' (bert-base or bert-mini)");
  const fs::path dir =
      fs::path(opt.cache_dir) / (model_name + "-cls-random-seed" + std::to_string(opt.seed));
  if (fs::exists(dir / "model.safetensors") && fs::exists(dir / "config.json")) return dir;
  std::cerr << "initialising " << model_name << " (BertForSequenceClassification, 2 labels) in "
            << dir.string() << "\n";
  bertkit::BertConfig config =
      random_model_config(model_name == "bert-mini", "BertForSequenceClassification");
  bertkit::BertForSequenceClassification::init(config, opt.seed).save_pretrained(dir);
  return dir;
}

std::string describe_check(const std::optional<json>& peer) {
  if (!peer || !peer->contains("check")) return "not run";
  const json& c = (*peer)["check"];
  const double loss = c.value("loss_abs_diff", 1e30), norm = c.value("grad_norm_rel_diff", 1e30);
  const double grad = c.value("grad_max_rel_diff", 1e30);
  const double update = c.value("update_max_rel_diff", 1e30);
  // float32 summation-order noise is ~1e-6 here; far more means a different step, and then the
  // timings compare different work.
  const bool same = loss < 1e-4 && norm < 1e-3 && grad < 1e-3 && update < 1e-3;
  return "|loss diff| " + fmt("%.1e", loss) + ", grad_norm rel " + fmt("%.1e", norm) +
         ", gradients max rel " + fmt("%.1e", grad) + ", AdamW updates max rel " +
         fmt("%.1e", update) + (same ? "" : "  <-- NOT THE SAME COMPUTATION");
}

struct Row {
  std::string model;
  bertkit::BertConfig config;
  Shape shape;
  std::optional<StepTiming> bertkit, torch;
  std::optional<json> bertkit_json, torch_json;
};

std::string cell(const std::optional<StepTiming>& t, const char* format, int width,
                 double StepTiming::*field) {
  return t ? fmt(format, (*t).*field) : std::string(width - 1, ' ') + "-";
}

json report(const Options& opt, const std::vector<Row>& rows,
            const std::vector<std::pair<std::string, std::optional<json>>>& checks, int threads,
            double peak_gflops, double load_before) {
  std::printf(
      "\nOne Trainer step (zero_grad, forward + loss, backward, clip_grad_norm, AdamW, schedule), "
      "dropout %s;\n%d threads; median of %d steps after %d warm-up, each shape in a fresh "
      "process.\nGEMM peak of this machine: %.1f GFLOP/s (cblas_sgemm %lld^3). speed = bertkit "
      "samples/s over PyTorch's (> 1: bertkit faster);\nmemory = peak resident set of the whole "
      "process (weights, grads, AdamW moments, activations, runtime).\n\n",
      opt.no_dropout ? "off" : "on (train mode)", threads, opt.repeats, opt.warmup, peak_gflops,
      (long long)opt.peak_size);
  std::printf("%-10s %-6s | %9s %9s %9s %8s %6s | %9s %9s %9s %8s | %6s %7s\n", "model", "shape",
              "bk ms", "samples/s", "tokens/s", "peak MiB", "%peak", "pt ms", "samples/s",
              "tokens/s", "peak MiB", "speed", "memory");
  json out = {{"threads", threads},
              {"repeats", opt.repeats},
              {"warmup", opt.warmup},
              {"dropout", !opt.no_dropout},
              {"gemm_peak_gflops", peak_gflops},
              {"load_average_before", load_before}};
  for (const Row& r : rows) {
    std::string pct = "-";
    if (r.bertkit) {
      double gflops = 3.0 * forward_flops(r.config, r.shape) / (r.bertkit->median_ms / 1e3) / 1e9;
      pct = fmt("%.0f%%", 100.0 * gflops / peak_gflops);
    }
    std::string speed = "-", memory = "-";
    if (r.bertkit && r.torch) {
      speed = fmt("%.2f", r.bertkit->samples_per_s / r.torch->samples_per_s);
      memory = fmt("%.2f", r.bertkit->peak_rss_mib / r.torch->peak_rss_mib);
    }
    std::printf("%-10s %-6s | %s %s %s %s %6s | %s %s %s %s | %6s %7s\n", r.model.c_str(),
                r.shape.name().c_str(), cell(r.bertkit, "%9.1f", 9, &StepTiming::median_ms).c_str(),
                cell(r.bertkit, "%9.2f", 9, &StepTiming::samples_per_s).c_str(),
                cell(r.bertkit, "%9.0f", 9, &StepTiming::tokens_per_s).c_str(),
                cell(r.bertkit, "%8.0f", 8, &StepTiming::peak_rss_mib).c_str(), pct.c_str(),
                cell(r.torch, "%9.1f", 9, &StepTiming::median_ms).c_str(),
                cell(r.torch, "%9.2f", 9, &StepTiming::samples_per_s).c_str(),
                cell(r.torch, "%9.0f", 9, &StepTiming::tokens_per_s).c_str(),
                cell(r.torch, "%8.0f", 8, &StepTiming::peak_rss_mib).c_str(), speed.c_str(),
                memory.c_str());
    json row = {{"model", r.model}, {"batch", r.shape.batch}, {"seq", r.shape.seq}};
    if (r.bertkit_json) row["bertkit"] = *r.bertkit_json;
    if (r.torch_json) row["pytorch"] = *r.torch_json;
    out["rows"].push_back(row);
  }
  std::printf("\nsame computation (one eval-mode step on a padded 3x24 sentence-pair batch):\n");
  for (const auto& [model, peer] : checks) {
    std::printf("  %-10s PyTorch vs bertkit: %s\n", model.c_str(), describe_check(peer).c_str());
    if (peer) out["checks"][model] = (*peer)["check"];
  }
  for (const Row& r : rows) {
    if (r.torch_json) {
      std::printf("  (PyTorch %s, torch.get_num_threads() = %d)\n",
                  r.torch_json->value("torch_version", std::string("?")).c_str(),
                  r.torch_json->value("torch_num_threads", 0));
      break;
    }
  }
  const double load_after = load_average();
  std::printf(
      "load average (1 min) %.2f before, %.2f after: timings on a busy machine are noisy.\n",
      load_before, load_after);
  out["load_average_after"] = load_after;
  return out;
}

int run(const Options& opt, const std::string& self) {
  bertkit::set_num_threads(opt.threads);
  const int threads = bertkit::num_threads();
  const bool torch_ok =
      !opt.skip_peers && succeeds(shell_quote(opt.python) + " -c 'import torch, numpy'");
  if (!opt.skip_peers && !torch_ok)
    std::cerr << "PyTorch peer skipped: " << opt.python << " cannot import torch. Install it with "
              << "scripts/bench-deps.sh (apt-get install python3-torch).\n";

  std::vector<Row> rows;
  std::vector<std::pair<std::string, std::optional<json>>> checks;
  std::cerr << "measuring the GEMM peak (cblas_sgemm " << opt.peak_size << "^3)\n";
  const double peak = gemm_peak_gflops(opt.peak_size);
  const double load_before = load_average();
  const std::string common = " --threads " + std::to_string(threads) + " --repeats " +
                             std::to_string(opt.repeats) + " --warmup " +
                             std::to_string(opt.warmup) + " --seed " + std::to_string(opt.seed) +
                             (opt.no_dropout ? " --no-dropout" : "");
  std::size_t start = 0;
  while (start <= opt.models.size()) {
    std::size_t end = opt.models.find(',', start);
    if (end == std::string::npos) end = opt.models.size();
    const std::string name = opt.models.substr(start, end - start);
    start = end + 1;
    const fs::path weights = prepare_weights(opt, name);
    const bertkit::BertConfig config = bertkit::BertConfig::from_json_file(weights / "config.json");
    const bool mini = name == "bert-mini";
    const std::vector<Shape> shapes = parse_shapes(mini ? opt.mini_shapes : opt.base_shapes,
                                                   mini ? "--mini-shapes" : "--base-shapes");
    for (Shape s : shapes)
      if (s.seq > config.max_position_embeddings)
        throw bertkit::InvalidArgument(s.name() + ": longer than max_position_embeddings");
    if (torch_ok) {
      const fs::path check_file = weights / "check.safetensors";
      write_check_file(weights, check_file);
      checks.emplace_back(
          name, run_peer("pytorch", shell_quote(opt.python) + " " +
                                        shell_quote(opt.peers_dir + "/torch_bert_train.py") +
                                        " --model " + shell_quote(weights.string()) + " --check " +
                                        shell_quote(check_file.string()) + " --threads " +
                                        std::to_string(threads)));
    }
    for (Shape s : shapes) {
      Row row{name, config, s, {}, {}, {}, {}};
      const std::string args =
          " --model " + shell_quote(weights.string()) + " --shape " + s.name() + common;
      row.bertkit_json = run_peer("bertkit", shell_quote(self) + " --worker" + args);
      row.bertkit = timing_from(row.bertkit_json);
      if (torch_ok) {
        row.torch_json =
            run_peer("pytorch", shell_quote(opt.python) + " " +
                                    shell_quote(opt.peers_dir + "/torch_bert_train.py") + args);
        row.torch = timing_from(row.torch_json);
      }
      rows.push_back(std::move(row));
    }
  }
  json out = report(opt, rows, checks, threads, peak, load_before);
  if (!opt.json_out.empty()) std::ofstream(opt.json_out) << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"bertkit training step vs PyTorch (same model, same batch, same threads)"};
  app.add_option("--models", opt.models, "bert-base and/or bert-mini")->capture_default_str();
  app.add_option("--base-shapes", opt.base_shapes, "BATCHxSEQ,... for bert-base")
      ->capture_default_str();
  app.add_option("--mini-shapes", opt.mini_shapes, "BATCHxSEQ,... for bert-mini")
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "threads for every program (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", opt.repeats, "timed steps per shape (median reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", opt.warmup, "untimed steps per shape first")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--no-dropout", opt.no_dropout, "time eval-mode steps (no dropout masks)");
  app.add_flag("--skip-peers", opt.skip_peers, "time bertkit only");
  app.add_option("--cache", opt.cache_dir, "folder for the random models and check files")
      ->capture_default_str();
  app.add_option("--peers", opt.peers_dir, "folder of torch_bert_train.py")->capture_default_str();
  app.add_option("--python", opt.python, "interpreter with torch")->capture_default_str();
  app.add_option("--peak-size", opt.peak_size, "n of the n^3 sgemm measuring the GEMM peak")
      ->check(CLI::Range(std::int64_t{64}, std::int64_t{16384}));
  app.add_option("--seed", opt.seed, "seed of the random models and of dropout");
  app.add_option("--json", opt.json_out, "also write every number to this JSON file");
  auto* worker = app.add_flag("--worker", opt.worker, "internal: time one shape in this process");
  app.add_option("--model", opt.weights, "internal (--worker): model folder")->needs(worker);
  app.add_option("--shape", opt.shape, "internal (--worker): BATCHxSEQ")->needs(worker);
  CLI11_PARSE(app, argc, argv);
  if (opt.threads == 0) opt.threads = static_cast<int>(std::thread::hardware_concurrency());
  try {
    if (opt.worker) return run_worker(opt);
    return run(opt, fs::read_symlink("/proc/self/exe").string());
  } catch (const std::exception& e) {
    std::cerr << "bench_model_train_step: error: " << e.what() << "\n";
    return 1;
  }
}
