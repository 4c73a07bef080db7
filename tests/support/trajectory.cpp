#include "support/trajectory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bertkit/serialization.h"

namespace bertkit::testing {

namespace {

const Tensor& tensor(const StateDict& tensors, const std::string& name) {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw FormatError("trajectory: missing tensor " + name);
  return it->second;
}

void expect_close(std::span<const float> actual, const Tensor& expected, double atol,
                  const std::string& what) {
  const Tensor e = expected.to_f32();
  const auto values = e.span<float>();
  ASSERT_EQ(actual.size(), values.size()) << what;
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double d = std::fabs(static_cast<double>(actual[i]) - values[i]);
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  EXPECT_LE(worst, atol) << what << ": worst difference at element " << at;
}

}  // namespace

Trajectory load_trajectory(const std::filesystem::path& model_dir, const std::string& stem) {
  std::ifstream in(model_dir / (stem + ".json"));
  if (!in) throw IoError("cannot open " + (model_dir / (stem + ".json")).string());
  const auto j = nlohmann::json::parse(in);
  Trajectory t;
  t.base_learning_rate = j.at("base_learning_rate").get<double>();
  const auto& opt = j.at("optimizer");
  t.weight_decay = opt.at("weight_decay").get<double>();
  t.adam_beta1 = opt.at("kwargs").at("betas").at(0).get<double>();
  t.adam_beta2 = opt.at("kwargs").at("betas").at(1).get<double>();
  t.adam_epsilon = opt.at("kwargs").at("eps").get<double>();
  t.max_grad_norm = j.at("max_grad_norm").get<double>();
  t.num_warmup_steps = j.at("scheduler").at("num_warmup_steps").get<std::int64_t>();
  t.num_training_steps = j.at("scheduler").at("num_training_steps").get<std::int64_t>();
  t.decay_parameter_names = j.at("decay_parameter_names").get<std::vector<std::string>>();
  t.no_decay_parameter_names = j.at("no_decay_parameter_names").get<std::vector<std::string>>();
  t.tensors = load_safetensors(model_dir / (stem + ".safetensors"));
  for (const auto& s : j.at("steps")) {
    TrajectoryStep step;
    step.step = s.at("step").get<std::int64_t>();
    step.loss = s.at("loss").get<double>();
    step.grad_norm = s.at("grad_norm").get<double>();
    step.learning_rate = s.at("learning_rate").get<double>();
    step.learning_rate_logged_by_trainer = s.at("learning_rate_logged_by_trainer").get<double>();
    step.logits = s.at("logits").get<std::vector<std::vector<double>>>();
    const std::string prefix = "batch" + std::to_string(step.step) + ".";
    step.batch.input_ids = tensor(t.tensors, prefix + "input_ids");
    step.batch.attention_mask = tensor(t.tensors, prefix + "attention_mask");
    step.batch.token_type_ids = tensor(t.tensors, prefix + "token_type_ids");
    step.batch.labels = tensor(t.tensors, prefix + "labels");
    t.steps.push_back(std::move(step));
  }
  return t;
}

TrajectoryRun run_trajectory(const Trajectory& t, std::span<float> params,
                             const std::vector<ParameterSlice>& slices,
                             const ForwardBackward& forward_backward) {
  TrajectoryRun run{
      {},
      AdamW(trainer_param_groups(slices, t.weight_decay), static_cast<std::int64_t>(params.size()),
            AdamWOptions{t.base_learning_rate, t.adam_beta1, t.adam_beta2, t.adam_epsilon}),
      {}};
  LRScheduler scheduler(SchedulerType::kLinear, t.base_learning_rate, t.num_warmup_steps,
                        t.num_training_steps);
  std::vector<float> grads(params.size());
  for (const auto& step : t.steps) {
    std::fill(grads.begin(), grads.end(), 0.0f);
    ObservedStep seen;
    seen.loss = forward_backward(step.batch, grads);
    seen.grad_norm = clip_grad_norm(grads, slices, t.max_grad_norm);
    seen.learning_rate = scheduler.get_last_lr();
    run.optimizer.set_lr(seen.learning_rate);
    run.optimizer.step(params, grads);
    scheduler.step();
    seen.learning_rate_logged = scheduler.get_last_lr();
    run.steps.push_back(seen);
    if (step.step == 2) run.params_after_step2.assign(params.begin(), params.end());
  }
  return run;
}

void expect_trajectory_matches(const Trajectory& t, const TrajectoryRun& run,
                               std::span<const float> params,
                               const std::vector<ParameterSlice>& slices) {
  ASSERT_EQ(run.steps.size(), t.steps.size());
  for (std::size_t i = 0; i < t.steps.size(); ++i) {
    const auto& want = t.steps[i];
    const auto& got = run.steps[i];
    EXPECT_NEAR(got.loss, want.loss, 1e-5) << "step " << want.step;
    EXPECT_NEAR(got.grad_norm, want.grad_norm, 1e-4 * want.grad_norm) << "step " << want.step;
    EXPECT_NEAR(got.learning_rate, want.learning_rate, 1e-12) << "step " << want.step;
    EXPECT_NEAR(got.learning_rate_logged, want.learning_rate_logged_by_trainer, 1e-12)
        << "step " << want.step;
  }
  for (const auto& s : slices) {
    const auto at = static_cast<std::size_t>(s.offset);
    const auto n = static_cast<std::size_t>(s.numel);
    if (!run.params_after_step2.empty()) {
      expect_close(std::span<const float>(run.params_after_step2).subspan(at, n),
                   tensor(t.tensors, "after_step2." + s.name), 5e-6, "after_step2." + s.name);
    }
    expect_close(params.subspan(at, n), tensor(t.tensors, "param." + s.name), 5e-6,
                 "param." + s.name);
  }
  const StateDict moments = run.optimizer.state_dict();
  for (const char* name : {"classifier.weight", "classifier.bias"}) {
    for (const char* kind : {"exp_avg.", "exp_avg_sq."}) {
      const std::string key = std::string(kind) + name;
      auto it = moments.find(key);
      if (it == moments.end()) continue;
      expect_close(it->second.span<float>(), tensor(t.tensors, "adam." + key), 1e-6, "adam." + key);
    }
  }
}

}  // namespace bertkit::testing
