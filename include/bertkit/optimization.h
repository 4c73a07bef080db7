// The optimisation pieces Trainer builds: learning-rate schedules (transformers.optimization with
// torch's LambdaLR semantics), torch.optim.AdamW and torch.nn.utils.clip_grad_norm_, all over flat
// float32 arenas (parameters, gradients and moments share one layout of named slices).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/tensor.h"
#include "bertkit/training_args.h"

namespace bertkit {

// ---- learning-rate schedules ----------------------------------------------------------------

// A LambdaLR over one base learning rate. last_epoch() counts scheduler.step() calls; the lr the
// k-th optimizer step uses (k from 1) is base_lr * lr_lambda(k - 1), so with warmup the first
// step runs at lr 0. Trainer logs get_last_lr() after scheduler.step(), i.e. lr_lambda(k).
class LRScheduler {
 public:
  // transformers.get_scheduler(name, optimizer, num_warmup_steps, num_training_steps,
  // scheduler_specific_kwargs): `kwargs` may hold num_cycles (cosine: 0.5, restarts: 1),
  // lr_end (1e-7) and power (1.0) for polynomial, timescale for inverse_sqrt.
  LRScheduler(SchedulerType type, double base_lr, std::int64_t num_warmup_steps,
              std::int64_t num_training_steps, const std::map<std::string, double>& kwargs = {});
  // The scheduler Trainer.create_scheduler builds for these arguments and max_steps.
  static LRScheduler for_training(const TrainingArguments& args, std::int64_t num_training_steps);

  double lr_lambda(std::int64_t current_step) const;  // the multiplier, exactly as HF computes it
  double lr_at(std::int64_t current_step) const { return base_lr_ * lr_lambda(current_step); }
  // The lr the next optimizer.step() uses, and what Trainer logs after scheduler.step().
  double get_last_lr() const { return lr_at(last_epoch_); }
  void step() { ++last_epoch_; }
  std::int64_t last_epoch() const { return last_epoch_; }

  SchedulerType type() const { return type_; }
  double base_lr() const { return base_lr_; }
  std::int64_t num_warmup_steps() const { return num_warmup_steps_; }
  std::int64_t num_training_steps() const { return num_training_steps_; }

  // scheduler.json: the schedule and its position (HF writes scheduler.pt, a pickle of
  // LambdaLR.state_dict(); the keys here follow that dict: base_lrs, last_epoch, _step_count,
  // _last_lr, plus the schedule itself so a checkpoint is self-describing).
  std::string to_json() const;
  static LRScheduler from_json(std::string_view text);  // FormatError on bad content
  void save(const std::filesystem::path& file) const;   // atomic
  static LRScheduler load(const std::filesystem::path& file);

 private:
  SchedulerType type_;
  double base_lr_;
  std::int64_t num_warmup_steps_;
  std::int64_t num_training_steps_;
  double num_cycles_;
  double lr_end_ = 1e-7;
  double power_ = 1.0;
  std::int64_t timescale_ = 0;
  std::map<std::string, double> kwargs_;
  std::int64_t last_epoch_ = 0;  // LambdaLR's constructor already took the initial step
};

// ---- parameters and their groups ------------------------------------------------------------

// A named piece of a flat float32 arena (HF state-dict name, offset and size in floats).
struct ParameterSlice {
  std::string name;
  std::int64_t offset = 0;
  std::int64_t numel = 0;
  std::vector<std::int64_t> shape;  // optional; empty means [numel]
};

// Trainer.get_decay_parameter_names over names alone: every parameter except those whose name
// contains "bias" and those inside a LayerNorm module (a "LayerNorm"/"layer_norm" component).
bool is_decay_parameter(std::string_view name);
std::vector<std::string> get_decay_parameter_names(const std::vector<std::string>& names);

// ---- AdamW ----------------------------------------------------------------------------------

struct ParamGroup {
  std::vector<ParameterSlice> params;
  double weight_decay = 0.0;
};

// Trainer's two groups: weight_decay for decay parameters, 0.0 for the rest (slice order kept).
std::vector<ParamGroup> trainer_param_groups(const std::vector<ParameterSlice>& slices,
                                             double weight_decay);

struct AdamWOptions {  // torch.optim.AdamW's defaults
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// torch.optim.AdamW (torch 1.13, foreach=False, amsgrad=False, maximize=False), every element
// computed with torch's float32 operation order (see adamw.cpp); threaded over the arena.
class AdamW {
 public:
  // `arena_size` floats; every slice must lie inside it and no two may overlap.
  AdamW(std::vector<ParamGroup> groups, std::int64_t arena_size, AdamWOptions options = {});

  // One optimizer.step(): reads grads, updates params and the moments in place.
  void step(std::span<float> params, std::span<const float> grads);
  void set_lr(double lr) { options_.lr = lr; }  // what LambdaLR does to every group
  double lr() const { return options_.lr; }
  const AdamWOptions& options() const { return options_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::int64_t step_count() const { return step_; }
  std::span<const float> exp_avg() const { return exp_avg_; }
  std::span<const float> exp_avg_sq() const { return exp_avg_sq_; }

  // The moments by name: "exp_avg.<param>" and "exp_avg_sq.<param>".
  StateDict state_dict() const;
  // optimizer.safetensors: the moments, and in the metadata the step, the hyper-parameters and
  // the groups (HF writes optimizer.pt, a torch pickle, which bertkit cannot produce).
  void save(const std::filesystem::path& file) const;
  // Restores moments and step saved for the same parameter layout; FormatError naming the
  // missing or mis-sized tensor otherwise. The lr and betas of this object are kept.
  void load(const std::filesystem::path& file);

 private:
  std::vector<ParamGroup> groups_;
  std::int64_t arena_size_;
  AdamWOptions options_;
  std::int64_t step_ = 0;
  std::vector<float> exp_avg_;
  std::vector<float> exp_avg_sq_;
};

// ---- gradient clipping ----------------------------------------------------------------------

// torch.nn.utils.clip_grad_norm_(params, max_norm) with norm_type 2: the float32 norm of each
// slice, then the norm of those norms; grads are multiplied by min(max_norm / (norm + 1e-6), 1).
// Returns the norm before clipping. A NaN or infinite norm throws NonFiniteError (bertkit stops
// rather than train on garbage) and leaves the grads untouched.
float clip_grad_norm(std::span<float> grads, const std::vector<ParameterSlice>& slices,
                     double max_norm);
// The same norm without clipping.
float grad_norm(std::span<const float> grads, const std::vector<ParameterSlice>& slices);
// torch's float32 L2 norm of one contiguous tensor (its summation order).
float float32_l2_norm(std::span<const float> values);

// A NaN/inf loss or gradient norm: training cannot continue meaningfully.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

}  // namespace bertkit
