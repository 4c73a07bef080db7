// `bertkit evaluate`: Trainer.evaluate() on a dataset split -- prints HF's metrics dict
// ({'eval_loss': ..., 'eval_accuracy': ..., ...}) with a progress bar on stderr.
#include "bertkit/evaluate.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "bertkit/dataset.h"
#include "bertkit/training_logs.h"
#include "commands.h"
#include "model_cli.h"

namespace bertkit::cli {

namespace {

struct EvaluateCliOptions {
  std::string model;
  std::string dataset;
  std::string split = "test";
  std::string eval_file;
  std::string text_column = "text";
  std::string text_pair_column;
  std::string label_column;
  std::size_t batch_size = 8;
  std::size_t max_length = 0;
  std::size_t limit = 0;
  std::string data_dir;
  std::string padding = "dynamic";
  std::string output_json;
  int threads = 0;
  bool no_progress = false;
};

Dataset load(const EvaluateCliOptions& o) {
  if (o.dataset.empty() == o.eval_file.empty()) {
    throw InvalidArgument("evaluate: give exactly one of --dataset imdb or --eval-file FILE");
  }
  DatasetSpec spec;
  spec.name = o.dataset;
  if (!o.eval_file.empty()) spec.files[o.split] = o.eval_file;
  spec.read.text_column = o.text_column;
  if (!o.text_pair_column.empty()) spec.read.text_pair_column = o.text_pair_column;
  if (!o.label_column.empty()) spec.read.label_column = o.label_column;
  if (o.limit > 0) spec.read.max_rows = o.limit;
  if (!o.data_dir.empty()) spec.imdb.data_dir = o.data_dir;
  spec.imdb.progress = !o.no_progress;
  Dataset data = load_dataset(spec, o.split);
  // `dataset.select(range(limit))`; files already stopped reading there.
  if (o.limit > 0 && data.size() > o.limit) {
    std::vector<std::size_t> first(o.limit);
    std::iota(first.begin(), first.end(), std::size_t{0});
    data = data.select(first);
  }
  return data;
}

void write_json(const std::string& file, const LogEntry& metrics) {
  // Trainer.save_metrics: json.dump(..., indent=4, sort_keys=True).
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : metrics) {
    std::visit([&j, &key = key](const auto& v) { j[key] = v; }, value);
  }
  std::ofstream out(file);
  if (!out) throw IoError("evaluate: cannot write " + file);
  out << j.dump(4) << "\n";
  if (!out) throw IoError("evaluate: error writing " + file);
}

void run_evaluate(const EvaluateCliOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const auto dir = model_folder(o.model);
  const BertConfig config = BertConfig::from_pretrained(dir);
  const std::size_t max_length = resolve_max_length(o.max_length, config);
  EvaluateOptions options;
  options.per_device_eval_batch_size = o.batch_size;
  options.padding.mode = parse_pad_mode(o.padding);
  options.progress = !o.no_progress;

  const Dataset data = load(o);
  const BertTokenizer tokenizer = BertTokenizer::from_pretrained(dir);
  TokenizeOptions tokenize;
  tokenize.max_length = max_length;
  const TokenizedDataset tokenized = TokenizedDataset::tokenize(data, tokenizer, tokenize);

  LoadOptions load_options;
  load_options.verbose = !o.no_progress;
  auto model = BertForSequenceClassification::from_pretrained(dir.string(), load_options);
  const LogEntry metrics = evaluate_model(model, tokenized, options).metrics;
  std::printf("%s\n", format_log_line(metrics).c_str());
  std::fflush(stdout);
  if (!o.output_json.empty()) write_json(o.output_json, metrics);
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto o = std::make_shared<EvaluateCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate", "Evaluate a BertForSequenceClassification model on a dataset split (HF metrics)");
  cmd->add_option("--model", o->model, "model folder or hub name")->required();
  cmd->add_option("--dataset", o->dataset, "named dataset: imdb");
  cmd->add_option("--split", o->split, "split to evaluate (default test)");
  cmd->add_option("--eval-file", o->eval_file, "JSON Lines / CSV / TSV file (gzip or not)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--text-column", o->text_column, "text column of --eval-file (default text)");
  cmd->add_option("--text-pair-column", o->text_pair_column, "second text column, for pairs");
  cmd->add_option("--label-column", o->label_column, "label column (default: label when present)");
  cmd->add_option("--per-device-eval-batch-size", o->batch_size, "rows per batch (default 8)");
  cmd->add_option("--max-length", o->max_length,
                  "truncate to this many tokens (default: min(512, max_position_embeddings))");
  cmd->add_option("--padding", o->padding, "dynamic (default), max_length, longest_in_dataset");
  cmd->add_option("--limit", o->limit, "evaluate the first N rows only");
  cmd->add_option("--data-dir", o->data_dir, "folder with the offline IMDB {split}.jsonl.gz");
  cmd->add_option("--output-json", o->output_json, "also write the metrics to this JSON file");
  cmd->add_option("--threads", o->threads, "threads (default: all cores)");
  cmd->add_flag("--no-progress", o->no_progress, "no progress bar or loading notes on stderr");
  cmd->callback([o] { run_evaluate(*o); });
}

}  // namespace bertkit::cli
