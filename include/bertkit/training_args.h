// TrainingArguments: the fine-tuning options with transformers' names and defaults (4.44.2), and
// the step arithmetic Trainer derives from them (how many optimisation steps, warmup, epochs).
//
// HF saves the arguments as training_args.bin (a pickle); bertkit saves training_args.json, the
// same content as TrainingArguments.to_json_string() for the fields bertkit knows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bertkit {

// transformers.trainer_utils.IntervalStrategy ("no", "steps", "epoch").
enum class IntervalStrategy { kNo, kSteps, kEpoch };
IntervalStrategy parse_interval_strategy(std::string_view name);  // InvalidArgument if unknown
std::string_view interval_strategy_name(IntervalStrategy strategy);

// transformers.trainer_utils.SchedulerType: the schedules bertkit implements.
enum class SchedulerType {
  kLinear,
  kCosine,
  kCosineWithRestarts,
  kPolynomial,
  kConstant,
  kConstantWithWarmup,
  kInverseSqrt,
};
SchedulerType parse_scheduler_type(std::string_view name);  // InvalidArgument naming the known ones
std::string_view scheduler_type_name(SchedulerType type);

struct TrainingArguments {
  std::string output_dir;  // required, as in HF 4.44
  bool overwrite_output_dir = false;
  bool do_train = false;
  bool do_eval = false;  // set by finalize() when eval_strategy is not "no"
  bool do_predict = false;
  IntervalStrategy eval_strategy = IntervalStrategy::kNo;
  bool prediction_loss_only = false;
  std::int64_t per_device_train_batch_size = 8;
  std::int64_t per_device_eval_batch_size = 8;
  std::int64_t gradient_accumulation_steps = 1;
  double eval_delay = 0.0;
  double learning_rate = 5e-5;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  double num_train_epochs = 3.0;  // may be fractional
  std::int64_t max_steps = -1;    // > 0 overrides num_train_epochs
  SchedulerType lr_scheduler_type = SchedulerType::kLinear;
  // Extra arguments of the schedule (num_cycles, lr_end, power, timescale), as HF's dict.
  std::map<std::string, double> lr_scheduler_kwargs;
  double warmup_ratio = 0.0;
  std::int64_t warmup_steps = 0;  // > 0 overrides warmup_ratio
  std::string logging_dir;        // empty: finalize() sets output_dir/runs/<Mon DD_HH-MM-SS>_<host>
  IntervalStrategy logging_strategy = IntervalStrategy::kSteps;
  bool logging_first_step = false;
  // HF types these as float: a value below 1 is a ratio of the total number of steps.
  double logging_steps = 500;
  bool logging_nan_inf_filter = true;
  IntervalStrategy save_strategy = IntervalStrategy::kSteps;
  double save_steps = 500;
  std::optional<std::int64_t> save_total_limit;
  bool save_safetensors = true;
  bool save_only_model = false;
  std::int64_t seed = 42;
  std::optional<std::int64_t> data_seed;
  bool dataloader_drop_last = false;
  std::optional<double> eval_steps;  // finalize(): logging_steps when evaluating by steps
  std::int64_t dataloader_num_workers = 0;
  std::string run_name;  // empty: finalize() sets output_dir
  bool disable_tqdm = false;
  bool load_best_model_at_end = false;
  std::optional<std::string>
      metric_for_best_model;              // finalize(): "loss" with load_best_model_at_end
  std::optional<bool> greater_is_better;  // finalize(): false for metrics ending in "loss"
  std::string optim = "adamw_torch";      // the only optimizer bertkit has
  // "all" (HF's default) means every integration bertkit has: tensorboard and jsonl.
  std::vector<std::string> report_to = {"all"};
  bool group_by_length = false;
  std::string length_column_name = "length";
  std::optional<std::string> resume_from_checkpoint;
  bool include_num_input_tokens_seen = false;
  bool eval_on_start = false;

  // HF's __post_init__: fills the derived defaults (logging_dir, run_name, eval_steps, do_eval,
  // metric_for_best_model, greater_is_better, report_to) and validates every field; throws
  // InvalidArgument naming the field and the value. Idempotent.
  void finalize();

  // json.dumps(args.to_dict(), indent=2) for the fields above, in HF's declaration order.
  std::string to_json() const;
  // Reads what to_json() writes (unknown keys are ignored, missing ones keep their default) and
  // finalizes. FormatError on malformed JSON or a value of the wrong type.
  static TrainingArguments from_json(std::string_view text);
  void save(const std::filesystem::path& file) const;  // atomic
  static TrainingArguments load(const std::filesystem::path& file);

  // per_device_train_batch_size * gradient_accumulation_steps (one process, no GPUs).
  std::int64_t total_train_batch_size() const {
    return per_device_train_batch_size * gradient_accumulation_steps;
  }
  // TrainingArguments.get_warmup_steps: warmup_steps if > 0, else ceil(steps * warmup_ratio).
  std::int64_t get_warmup_steps(std::int64_t num_training_steps) const;
  bool reports_to(std::string_view integration) const;  // after finalize()
};

// HF's default_logdir(): runs/<%b%d_%H-%M-%S local time>_<hostname>.
std::string default_logdir();

// The numbers Trainer._inner_training_loop derives before the first step.
struct TrainingPlan {
  std::int64_t num_examples = 0;
  std::int64_t len_dataloader = 0;  // batches per epoch
  std::int64_t num_update_steps_per_epoch = 0;
  std::int64_t max_steps = 0;         // optimisation steps of the whole run
  std::int64_t num_train_epochs = 0;  // epochs the loop iterates (ceil of the fractional value)
  double num_train_samples = 0;       // for train_samples_per_second
  std::int64_t total_train_batch_size = 0;
  std::int64_t warmup_steps = 0;
  // Absolute intervals (state.logging_steps, ...): ratios below 1 become ceil(max_steps * ratio).
  std::int64_t logging_steps = 0;
  std::int64_t eval_steps = 0;
  std::int64_t save_steps = 0;
};

// `num_examples` is the length of the training set. InvalidArgument when nothing can be trained
// (no examples, a batch larger than the data with dataloader_drop_last, ...).
TrainingPlan plan_training(const TrainingArguments& args, std::int64_t num_examples);

// state.epoch after a step: epoch + (step + 1 + steps_skipped) / steps_in_epoch, where `step` is
// the 0-based batch index within the epoch (batches, not optimisation steps).
double epoch_after_batch(std::int64_t epoch, std::int64_t batch_index, std::int64_t steps_in_epoch,
                         std::int64_t steps_skipped = 0);

// Whether the optimizer steps after this batch (gradient accumulation as HF 4.44 does it):
// every `gradient_accumulation_steps` batches counted over the whole run, or at the last batch
// of an epoch shorter than one accumulation window.
bool is_optimizer_step(std::int64_t total_batched_samples, std::int64_t batch_index,
                       std::int64_t steps_in_epoch, std::int64_t gradient_accumulation_steps);

}  // namespace bertkit
