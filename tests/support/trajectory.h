// The golden training trajectories (shared/golden/models/<m>/trajectory*.{json,safetensors}):
// five Trainer steps from model.safetensors. load_trajectory reads batches and expected values;
// run_trajectory performs the steps exactly as Trainer does (zero grads, forward/backward,
// clip_grad_norm_, AdamW at the scheduled lr, scheduler.step()) around a caller-supplied
// forward/backward; expect_trajectory_matches compares with the README's tolerances.
//
// With the BERT backward pass: build the parameter arena and its slices from the model's layout
// (HF parameter order), pass a forward_backward that runs the model on the batch, and compare.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "bertkit/optimization.h"
#include "bertkit/tensor.h"

namespace bertkit::testing {

struct TrajectoryBatch {
  Tensor input_ids, attention_mask, token_type_ids;  // I64 [batch, seq]
  Tensor labels;                                     // I64 [batch]
};

struct TrajectoryStep {
  std::int64_t step = 0;  // 1-based
  TrajectoryBatch batch;
  double loss = 0, grad_norm = 0;
  double learning_rate = 0;                    // used by optimizer.step()
  double learning_rate_logged_by_trainer = 0;  // after scheduler.step()
  std::vector<std::vector<double>> logits;
};

struct Trajectory {
  double base_learning_rate = 0, weight_decay = 0, max_grad_norm = 0;
  double adam_beta1 = 0, adam_beta2 = 0, adam_epsilon = 0;
  std::int64_t num_warmup_steps = 0, num_training_steps = 0;
  std::vector<std::string> decay_parameter_names, no_decay_parameter_names;
  std::vector<TrajectoryStep> steps;
  StateDict tensors;  // after_step2.<p>, param.<p>, adam.exp_avg(_sq).classifier.*, step tensors
};

// `stem` is "trajectory" or "trajectory_lr1e-3"; the folder is a golden model folder.
Trajectory load_trajectory(const std::filesystem::path& model_dir,
                           const std::string& stem = "trajectory");

struct ObservedStep {
  float loss = 0, grad_norm = 0;
  double learning_rate = 0, learning_rate_logged = 0;
};

// Fills `grads` (zeroed before each call) for the batch and returns the loss.
using ForwardBackward = std::function<float(const TrajectoryBatch&, std::span<float> grads)>;

struct TrajectoryRun {
  std::vector<ObservedStep> steps;
  AdamW optimizer;
  std::vector<float> params_after_step2;
};

TrajectoryRun run_trajectory(const Trajectory& trajectory, std::span<float> params,
                             const std::vector<ParameterSlice>& slices,
                             const ForwardBackward& forward_backward);

// gtest expectations: loss atol 1e-5, grad_norm rtol 1e-4, learning rates 1e-12, parameters after
// step 2 and step 5 atol 5e-6 (key.bias absolute only, as the README says), classifier moments.
void expect_trajectory_matches(const Trajectory& trajectory, const TrajectoryRun& run,
                               std::span<const float> params,
                               const std::vector<ParameterSlice>& slices);

}  // namespace bertkit::testing
