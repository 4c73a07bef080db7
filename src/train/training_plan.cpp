// The step arithmetic of Trainer._inner_training_loop (transformers 4.44.2), before any step runs.
#include <algorithm>
#include <cmath>
#include <string>

#include "bertkit/error.h"
#include "bertkit/training_args.h"

namespace bertkit {

namespace {

std::int64_t absolute_interval(double value, std::int64_t max_steps) {
  if (value < 1)
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(max_steps) * value));
  return static_cast<std::int64_t>(value);
}

}  // namespace

TrainingPlan plan_training(const TrainingArguments& args, std::int64_t num_examples) {
  if (num_examples <= 0) {
    throw InvalidArgument("plan_training: the training set is empty (" +
                          std::to_string(num_examples) + " examples)");
  }
  const std::int64_t batch = args.per_device_train_batch_size;
  const std::int64_t accumulation = args.gradient_accumulation_steps;
  if (batch <= 0 || accumulation <= 0) {
    throw InvalidArgument(
        "plan_training: batch size and gradient_accumulation_steps must be positive");
  }
  TrainingPlan plan;
  plan.num_examples = num_examples;
  plan.total_train_batch_size = batch * accumulation;
  // DataLoader length: drop_last floors, otherwise the last short batch counts.
  plan.len_dataloader =
      args.dataloader_drop_last ? num_examples / batch : (num_examples + batch - 1) / batch;
  if (plan.len_dataloader == 0) {
    throw InvalidArgument("plan_training: " + std::to_string(num_examples) +
                          " examples make no batch of per_device_train_batch_size " +
                          std::to_string(batch) + " with dataloader_drop_last");
  }
  plan.num_update_steps_per_epoch = std::max<std::int64_t>(plan.len_dataloader / accumulation, 1);
  if (args.max_steps > 0) {
    plan.max_steps = args.max_steps;
    plan.num_train_epochs = args.max_steps / plan.num_update_steps_per_epoch +
                            (args.max_steps % plan.num_update_steps_per_epoch > 0 ? 1 : 0);
    // HF's estimate: may be slightly high when the last batch is short, as in HF.
    plan.num_train_samples = static_cast<double>(args.max_steps * plan.total_train_batch_size);
  } else {
    plan.max_steps = static_cast<std::int64_t>(
        std::ceil(args.num_train_epochs * static_cast<double>(plan.num_update_steps_per_epoch)));
    plan.num_train_epochs = static_cast<std::int64_t>(std::ceil(args.num_train_epochs));
    plan.num_train_samples = static_cast<double>(num_examples) * args.num_train_epochs;
  }
  if (plan.max_steps <= 0) {
    throw InvalidArgument("plan_training: num_train_epochs " +
                          std::to_string(args.num_train_epochs) +
                          " gives no optimisation step; set num_train_epochs > 0 or max_steps");
  }
  plan.warmup_steps = args.get_warmup_steps(plan.max_steps);
  plan.logging_steps = absolute_interval(args.logging_steps, plan.max_steps);
  // TrainerState's default (500) stays when eval_steps is unset, as in HF.
  plan.eval_steps = args.eval_steps ? absolute_interval(*args.eval_steps, plan.max_steps) : 500;
  plan.save_steps = absolute_interval(args.save_steps, plan.max_steps);
  return plan;
}

double epoch_after_batch(std::int64_t epoch, std::int64_t batch_index, std::int64_t steps_in_epoch,
                         std::int64_t steps_skipped) {
  if (steps_in_epoch <= 0)
    throw InvalidArgument("epoch_after_batch: steps_in_epoch must be positive");
  return static_cast<double>(epoch) +
         static_cast<double>(batch_index + 1 + steps_skipped) / static_cast<double>(steps_in_epoch);
}

bool is_optimizer_step(std::int64_t total_batched_samples, std::int64_t batch_index,
                       std::int64_t steps_in_epoch, std::int64_t gradient_accumulation_steps) {
  const bool last_of_short_epoch =
      steps_in_epoch <= gradient_accumulation_steps && batch_index + 1 == steps_in_epoch;
  return total_batched_samples % gradient_accumulation_steps == 0 || last_of_short_epoch;
}

}  // namespace bertkit
