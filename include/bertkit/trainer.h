// transformers.Trainer (4.44) for BertForSequenceClassification: the training loop that wires the
// DataLoader, the backward pass, clip_grad_norm, AdamW and the LR schedule together, with HF's
// logging ({'loss': ..., 'grad_norm': ..., 'learning_rate': ..., 'epoch': ...}), checkpoints
// (checkpoint-N/, rotated by save_total_limit), exact resuming and evaluation.
//
//   bertkit::Trainer trainer(model, args, train_data, &eval_data);
//   bertkit::TrainOutput out = trainer.train();          // or train("latest") to resume
//   bertkit::LogEntry metrics = trainer.evaluate();
//
// Differences from HF, by necessity: dropout masks come from bertkit's counter-based generator,
// reseeded for every batch from (seed, batch number), so a resumed run draws the same masks as
// an uninterrupted one; with gradient_accumulation_steps > 1 the summed gradients are scaled by
// 1 / gradient_accumulation_steps once before clipping (HF scales each backward).
//
// TrainerOptions::cache_features is a bertkit shortcut with no HF counterpart (see there).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bertkit/dataset.h"
#include "bertkit/optimization.h"
#include "bertkit/trainer_state.h"
#include "bertkit/training_args.h"
#include "bertkit/training_logs.h"

namespace bertkit {

class BertForSequenceClassification;
class BertTokenizer;

// What Trainer.train() returns.
struct TrainOutput {
  std::int64_t global_step = 0;
  double training_loss = 0.0;  // mean loss over the run's optimizer steps
  // train_runtime, train_samples_per_second, train_steps_per_second, total_flos, train_loss,
  // epoch.
  LogEntry metrics;
};

// One optimizer step as the loop saw it (for callers that watch training closely).
struct TrainerStep {
  std::int64_t global_step = 0;
  float loss = 0;                  // the mean of this step's batch losses
  std::optional<float> grad_norm;  // pre-clip norm; absent when max_grad_norm <= 0
  double learning_rate = 0;        // the lr the optimizer used
  double learning_rate_after = 0;  // the scheduler's last lr after its step (what HF logs)
};

struct TrainerOptions {
  PadOptions padding;      // the train collator (dynamic: DataCollatorWithPadding)
  bool shuffle = true;     // false: rows in dataset order every epoch
  bool progress = true;    // tqdm-like bar on stderr (also off with args.disable_tqdm)
  bool print_logs = true;  // print each log dict on stdout, as ProgressCallback does
  // Saved with every checkpoint and the final model when given.
  const BertTokenizer* tokenizer = nullptr;
  // save_pretrained into output_dir when training ends (HF's trainer.save_model()).
  bool save_final_model = true;
  // Called after every optimizer step, and after each checkpoint is written.
  std::function<void(const TrainerStep&)> on_step;
  std::function<void(const std::filesystem::path&)> on_save;
  // Needs a frozen encoder (model.set_freeze_bert(true); InvalidArgument otherwise). train() first
  // runs the encoder once over every train row, in eval mode and batches of
  // per_device_eval_batch_size, and keeps the pooler outputs; each step then runs only the
  // classifier head on them (its dropout, Linear, loss, backward), with the same optimizer,
  // schedule, logging and checkpoints. Much faster, but NOT HF-exact: HF's frozen encoder still
  // runs in train mode every step, and the encoder's dropout is what this skips (with zero
  // hidden and attention dropout the two agree up to float rounding). evaluate() then also runs
  // on the eval rows' pooler outputs, computed once per Trainer (exact: eval mode has no
  // dropout). Resuming recomputes the cache from the checkpoint's weights.
  bool cache_features = false;
};

class Trainer {
 public:
  // `model`, `train_dataset` and `eval_dataset` must outlive the Trainer. `args` is finalized.
  Trainer(BertForSequenceClassification& model, TrainingArguments args,
          const TokenizedDataset& train_dataset, const TokenizedDataset* eval_dataset = nullptr,
          TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains; `resume_from_checkpoint` is a checkpoint folder or "latest" (the newest
  // checkpoint-N in output_dir; InvalidArgument when there is none). Unset: args'
  // resume_from_checkpoint. Throws NonFiniteError on a NaN/inf loss or gradient norm.
  TrainOutput train(std::optional<std::string> resume_from_checkpoint = std::nullopt);

  // Metrics over eval_dataset (InvalidArgument without one), logged into the state's history.
  LogEntry evaluate();

  // config.json + model.safetensors (+ tokenizer files, training_args.json) into `dir`
  // (default: output_dir).
  void save_model(std::optional<std::filesystem::path> dir = std::nullopt) const;

  const TrainingArguments& args() const { return args_; }
  const TrainerState& state() const { return state_; }
  // Set while and after train() runs.
  const AdamW* optimizer() const;
  const LRScheduler* scheduler() const;

 private:
  struct Run;
  LogEntry log(LogEntry logs);  // Trainer.log: history, stdout, JSON Lines, TensorBoard
  void save_checkpoint(Run& run);
  void check_cache_features() const;

  BertForSequenceClassification& model_;
  TrainingArguments args_;
  const TokenizedDataset& train_dataset_;
  const TokenizedDataset* eval_dataset_;
  TrainerOptions options_;
  TrainerState state_;
  std::unique_ptr<Run> run_;
  std::vector<float> eval_features_;  // cache_features: the eval rows' pooler outputs, [rows, H]
};

}  // namespace bertkit
