// Trainer state and checkpoints as HF writes them: trainer_state.json (byte-compatible with
// TrainerState.save_to_json), checkpoint-N/ folders written atomically, save_total_limit rotation
// and get_last_checkpoint for resuming.
//
// A bertkit checkpoint-N/ holds:
//   model.safetensors, config.json  written by the caller (CheckpointContents::write_model)
//   optimizer.safetensors           AdamW moments + step (HF: optimizer.pt, a torch pickle)
//   scheduler.json                  LambdaLR position (HF: scheduler.pt)
//   trainer_state.json              as HF
//   rng_state.json                  bertkit's generator states (HF: rng_state.pth)
//   training_args.json              (HF: training_args.bin, a pickle)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/optimization.h"
#include "bertkit/training_args.h"
#include "bertkit/training_logs.h"

namespace bertkit {

// transformers.TrainerControl, with DefaultFlowCallback's decisions.
struct TrainerControl {
  bool should_training_stop = false;
  bool should_epoch_stop = false;
  bool should_save = false;
  bool should_evaluate = false;
  bool should_log = false;
};

struct TrainerState {
  std::optional<double> epoch;
  std::int64_t global_step = 0;
  std::int64_t max_steps = 0;
  std::int64_t logging_steps = 500;
  std::int64_t eval_steps = 500;
  std::int64_t save_steps = 500;
  std::optional<std::int64_t> train_batch_size;
  std::int64_t num_train_epochs = 0;
  std::int64_t num_input_tokens_seen = 0;
  double total_flos = 0;
  std::vector<LogEntry> log_history;
  std::optional<double> best_metric;
  std::optional<std::string> best_model_checkpoint;
  bool is_local_process_zero = true;
  bool is_world_process_zero = true;
  bool is_hyper_param_search = false;
  std::optional<std::string> trial_name;
  // stateful_callbacks["TrainerControl"] as saved with the checkpoint.
  TrainerControl control;

  // The state Trainer sets up before the first step.
  static TrainerState for_training(const TrainingArguments& args, const TrainingPlan& plan);

  // Trainer.log: adds "epoch" (when known) to `logs`, appends {...logs, "step": global_step} to
  // log_history and returns `logs` with the epoch (what callbacks and the printed line see).
  LogEntry log(LogEntry logs);

  // json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True) + "\n".
  std::string to_json() const;
  static TrainerState from_json(std::string_view text);  // FormatError on bad content
  void save(const std::filesystem::path& file) const;    // atomic
  static TrainerState load(const std::filesystem::path& file);
};

// DefaultFlowCallback.on_step_end / on_epoch_end: sets the should_* flags of `control`.
void default_flow_on_step_end(const TrainingArguments& args, const TrainerState& state,
                              TrainerControl& control);
void default_flow_on_epoch_end(const TrainingArguments& args, const TrainerState& state,
                               TrainerControl& control);

// HF's floating_point_ops: 6 * tokens (input_ids.numel(), padding included) * parameters
// without the embedding matrices.
double floating_point_ops(std::int64_t num_input_tokens, std::int64_t num_non_embedding_parameters);

// ---- checkpoints ----------------------------------------------------------------------------

// Named generator states (a sampler's, dropout's, ...), each a list of 64-bit words.
using RngStates = std::map<std::string, std::vector<std::uint64_t>>;
void save_rng_state(const std::filesystem::path& file, const RngStates& states);  // atomic
RngStates load_rng_state(const std::filesystem::path& file);

struct CheckpointContents {
  const TrainingArguments* args = nullptr;
  const TrainerState* state = nullptr;
  const AdamW* optimizer = nullptr;        // skipped when null (save_only_model)
  const LRScheduler* scheduler = nullptr;  // skipped when null
  const RngStates* rng = nullptr;          // skipped when null
  // Writes the model files (model.safetensors, config.json, ...) into the given folder.
  std::function<void(const std::filesystem::path&)> write_model;
};

// "checkpoint-N"
std::string checkpoint_folder_name(std::int64_t global_step);
// Writes output_dir/checkpoint-<global_step>/ atomically: everything goes into a fresh
// checkpoint-N.tmp-XXXXXX folder, each file is fsynced, then the folder is renamed into place
// (replacing an older checkpoint of that step) and output_dir is fsynced. A failure leaves no
// checkpoint-N behind and removes the temporary folder. Returns the checkpoint's path.
std::filesystem::path save_checkpoint(const std::filesystem::path& output_dir,
                                      std::int64_t global_step, const CheckpointContents& contents);

// transformers.trainer_utils.get_last_checkpoint: the checkpoint-N folder with the highest N, or
// nullopt. Only exact "checkpoint-<digits>" folders holding trainer_state.json count, so
// temporary and incomplete folders are never resumed from.
std::optional<std::filesystem::path> get_last_checkpoint(const std::filesystem::path& folder);

// Trainer._sorted_checkpoints: checkpoints by step, oldest first, with the best checkpoint moved
// next to last so that rotation never deletes it.
std::vector<std::filesystem::path> sorted_checkpoints(
    const std::filesystem::path& output_dir,
    const std::optional<std::string>& best_model_checkpoint = std::nullopt);
// Trainer._rotate_checkpoints: deletes the oldest checkpoints beyond save_total_limit (none when
// the limit is unset or <= 0; keeps 2 when the limit is 1 and the best is not the newest).
// Returns the deleted folders.
std::vector<std::filesystem::path> rotate_checkpoints(
    const std::filesystem::path& output_dir, std::optional<std::int64_t> save_total_limit,
    const std::optional<std::string>& best_model_checkpoint = std::nullopt);

}  // namespace bertkit
