// `bertkit train`: fine-tunes a BertForSequenceClassification with the Trainer. Every
// TrainingArguments field is a flag spelled as in HF with dashes (--learning-rate, ...).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>

#include "bertkit/dataset.h"
#include "bertkit/trainer.h"
#include "commands.h"
#include "model_cli.h"

namespace bertkit::cli {

namespace {

namespace fs = std::filesystem;

struct TrainCliOptions {
  std::string model;
  std::string dataset;
  std::string data_dir;
  std::string train_file;
  std::string eval_file;
  std::string text_column = "text";
  std::string text_pair_column;
  std::string label_column;
  std::size_t max_length = 0;  // 0: min(512, max_position_embeddings)
  std::string padding = "dynamic";
  std::size_t limit = 0;
  std::size_t eval_limit = 0;
  bool freeze_encoder = false;
  bool cache_features = false;
  bool no_shuffle = false;
  double hidden_dropout_prob = -1;
  double attention_probs_dropout_prob = -1;
  int threads = 0;
  TrainingArguments args;
  // Flags whose HF type is Optional: unset stays unset.
  std::int64_t save_total_limit = 0;
  double eval_steps = 0;
  std::string resume_from_checkpoint;
  std::string eval_strategy = "no";
  std::string save_strategy = "steps";
  std::string logging_strategy = "steps";
  std::string lr_scheduler_type = "linear";
};

// `dataset.shuffle(seed).select(range(limit))` for a named dataset (IMDB lists all negative
// reviews first, so its first N rows would be one class); files keep their first N rows.
Dataset take(Dataset data, std::size_t limit, bool shuffle, std::uint64_t seed) {
  if (limit == 0 || data.size() <= limit) return data;
  std::vector<std::size_t> rows(data.size());
  if (shuffle) {
    rows = torch_randperm(data.size(), seed);
  } else {
    std::iota(rows.begin(), rows.end(), std::size_t{0});
  }
  rows.resize(limit);
  return data.select(rows);
}

DatasetSpec dataset_spec(const TrainCliOptions& o) {
  if (o.dataset.empty() == o.train_file.empty()) {
    throw InvalidArgument("train: give exactly one of --dataset imdb or --train-file FILE");
  }
  DatasetSpec spec;
  spec.name = o.dataset;
  if (!o.train_file.empty()) spec.files["train"] = o.train_file;
  if (!o.eval_file.empty()) spec.files["validation"] = o.eval_file;
  spec.read.text_column = o.text_column;
  if (!o.text_pair_column.empty()) spec.read.text_pair_column = o.text_pair_column;
  if (!o.label_column.empty()) spec.read.label_column = o.label_column;
  if (!o.data_dir.empty()) spec.imdb.data_dir = o.data_dir;
  spec.imdb.progress = !o.args.disable_tqdm;
  return spec;
}

void run_train(TrainCliOptions& o) {
  if (o.cache_features && !o.freeze_encoder) {
    throw InvalidArgument(
        "train: --cache-features needs --freeze-encoder (the cached features are the frozen "
        "encoder's outputs)");
  }
  if (o.threads > 0) set_num_threads(o.threads);
  TrainingArguments& args = o.args;
  args.eval_strategy = parse_interval_strategy(o.eval_strategy);
  args.save_strategy = parse_interval_strategy(o.save_strategy);
  args.logging_strategy = parse_interval_strategy(o.logging_strategy);
  args.lr_scheduler_type = parse_scheduler_type(o.lr_scheduler_type);
  if (o.save_total_limit > 0) args.save_total_limit = o.save_total_limit;
  if (o.eval_steps > 0) args.eval_steps = o.eval_steps;
  if (!o.resume_from_checkpoint.empty()) args.resume_from_checkpoint = o.resume_from_checkpoint;
  args.do_train = true;
  args.finalize();

  const fs::path dir = model_folder(o.model);
  const BertTokenizer tokenizer = BertTokenizer::from_pretrained(dir);
  const DatasetSpec spec = dataset_spec(o);
  const bool named = !o.dataset.empty();
  const auto seed = static_cast<std::uint64_t>(args.seed);
  const Dataset train_rows = take(load_dataset(spec, "train"), o.limit, named, seed);
  std::optional<Dataset> eval_rows;
  if (args.eval_strategy != IntervalStrategy::kNo || !o.eval_file.empty()) {
    eval_rows = take(load_dataset(spec, "validation"), o.eval_limit, named, seed);
  }
  const BertConfig config = BertConfig::from_pretrained(dir);
  const std::size_t max_length = resolve_max_length(o.max_length, config);
  TokenizeOptions tokenize;
  tokenize.max_length = max_length;
  const TokenizedDataset train = TokenizedDataset::tokenize(train_rows, tokenizer, tokenize);
  std::optional<TokenizedDataset> eval;
  if (eval_rows) eval = TokenizedDataset::tokenize(*eval_rows, tokenizer, tokenize);

  LoadOptions load;
  load.verbose = true;
  load.seed = seed;
  auto model = BertForSequenceClassification::from_pretrained(dir.string(), load);
  if (o.hidden_dropout_prob >= 0 || o.attention_probs_dropout_prob >= 0) {
    BertConfig config = model.config();
    if (o.hidden_dropout_prob >= 0) config.hidden_dropout_prob = o.hidden_dropout_prob;
    if (o.attention_probs_dropout_prob >= 0) {
      config.attention_probs_dropout_prob = o.attention_probs_dropout_prob;
    }
    model = BertForSequenceClassification::from_state_dict(config, model.state_dict(),
                                                           {.verbose = false}, dir.string());
  }
  model.set_freeze_bert(o.freeze_encoder);

  TrainerOptions options;
  options.padding.mode = parse_pad_mode(o.padding);
  options.shuffle = !o.no_shuffle;
  options.progress = !args.disable_tqdm;
  options.tokenizer = &tokenizer;
  options.cache_features = o.cache_features;
  Trainer trainer(model, args, train, eval ? &*eval : nullptr, options);
  const TrainOutput out = trainer.train();
  std::fprintf(stderr, "saved the model to %s (%lld steps, train_loss %.4f)\n",
               args.output_dir.c_str(), static_cast<long long>(out.global_step), out.training_loss);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  TrainingArguments& a = o->args;
  CLI::App* cmd = app.add_subcommand(
      "train", "Fine-tune a BertForSequenceClassification (HF Trainer, TrainingArguments flags)");
  cmd->add_option("--model", o->model, "model folder or hub name")->required();
  cmd->add_option("--dataset", o->dataset, "named dataset: imdb");
  cmd->add_option("--data-dir", o->data_dir, "folder with the offline IMDB {split}.jsonl.gz");
  cmd->add_option("--train-file", o->train_file, "JSON Lines / CSV / TSV (gzip or not)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--eval-file", o->eval_file, "evaluation file, same format")
      ->check(CLI::ExistingFile);
  cmd->add_option("--text-column", o->text_column, "text column (default text)");
  cmd->add_option("--text-pair-column", o->text_pair_column, "second text column, for pairs");
  cmd->add_option("--label-column", o->label_column, "label column (default: label)");
  cmd->add_option("--max-length", o->max_length,
                  "truncate to this many tokens (default: min(512, max_position_embeddings))");
  cmd->add_option("--padding", o->padding, "dynamic (default), max_length, longest_in_dataset");
  cmd->add_option("--limit", o->limit,
                  "train on N rows (a named dataset: N rows of a seeded shuffle; a file: first N)");
  cmd->add_option("--eval-limit", o->eval_limit, "evaluate on N rows, likewise");
  cmd->add_flag("--freeze-encoder", o->freeze_encoder, "train the classifier only");
  cmd->add_flag("--cache-features", o->cache_features,
                "with --freeze-encoder: run the encoder once per row (eval mode) and train the "
                "classifier on the cached pooled features; much faster, NOT HF-exact (the "
                "encoder's dropout is skipped)");
  cmd->add_flag("--no-shuffle", o->no_shuffle, "visit the training rows in order");
  cmd->add_option("--hidden-dropout-prob", o->hidden_dropout_prob, "override config.json");
  cmd->add_option("--attention-probs-dropout-prob", o->attention_probs_dropout_prob,
                  "override config.json");
  cmd->add_option("--threads", o->threads, "threads (default: all cores)");

  cmd->add_option("--output-dir", a.output_dir, "checkpoints and the final model")->required();
  cmd->add_flag("--overwrite-output-dir", a.overwrite_output_dir);
  cmd->add_option("--num-train-epochs", a.num_train_epochs, "default 3");
  cmd->add_option("--max-steps", a.max_steps, "> 0 overrides --num-train-epochs");
  cmd->add_option("--per-device-train-batch-size", a.per_device_train_batch_size, "default 8");
  cmd->add_option("--per-device-eval-batch-size", a.per_device_eval_batch_size, "default 8");
  cmd->add_option("--gradient-accumulation-steps", a.gradient_accumulation_steps, "default 1");
  cmd->add_option("--learning-rate", a.learning_rate, "default 5e-5");
  cmd->add_option("--weight-decay", a.weight_decay, "default 0");
  cmd->add_option("--adam-beta1", a.adam_beta1, "default 0.9");
  cmd->add_option("--adam-beta2", a.adam_beta2, "default 0.999");
  cmd->add_option("--adam-epsilon", a.adam_epsilon, "default 1e-8");
  cmd->add_option("--max-grad-norm", a.max_grad_norm, "default 1.0; 0 disables clipping");
  cmd->add_option("--lr-scheduler-type", o->lr_scheduler_type,
                  "linear (default), cosine, cosine_with_restarts, polynomial, constant, "
                  "constant_with_warmup, inverse_sqrt");
  cmd->add_option("--warmup-ratio", a.warmup_ratio, "default 0");
  cmd->add_option("--warmup-steps", a.warmup_steps, "> 0 overrides --warmup-ratio");
  cmd->add_option("--logging-dir", a.logging_dir, "default output_dir/runs/<date>_<host>");
  cmd->add_option("--logging-strategy", o->logging_strategy, "no, steps (default), epoch");
  cmd->add_flag("--logging-first-step", a.logging_first_step);
  cmd->add_option("--logging-steps", a.logging_steps, "default 500 (< 1: ratio of max steps)");
  cmd->add_option("--eval-strategy", o->eval_strategy, "no (default), steps, epoch");
  cmd->add_option("--eval-steps", o->eval_steps, "default: logging steps");
  cmd->add_option("--save-strategy", o->save_strategy, "no, steps (default), epoch");
  cmd->add_option("--save-steps", a.save_steps, "default 500");
  cmd->add_option("--save-total-limit", o->save_total_limit, "keep at most N checkpoints");
  cmd->add_flag("--save-only-model", a.save_only_model, "checkpoints without optimizer state");
  cmd->add_option("--seed", a.seed, "default 42");
  cmd->add_option("--data-seed", a.data_seed, "sampler seed (default: --seed)");
  cmd->add_flag("--group-by-length", a.group_by_length);
  cmd->add_flag("--dataloader-drop-last", a.dataloader_drop_last);
  cmd->add_option("--report-to", a.report_to, "all (default), none, tensorboard, jsonl");
  cmd->add_option("--run-name", a.run_name);
  cmd->add_flag("--disable-tqdm", a.disable_tqdm, "no progress bar");
  cmd->add_option("--resume-from-checkpoint", o->resume_from_checkpoint,
                  "a checkpoint folder, or \"latest\" for the newest in --output-dir");
  cmd->callback([o] { run_train(*o); });
}

}  // namespace bertkit::cli
