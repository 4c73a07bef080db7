// The golden trajectories through the optimisation machinery. The model's backward pass does not
// exist yet, but classifier.bias needs none: its gradient is the batch mean of
// softmax(logits) - onehot(label), and the golden files hold every step's logits, labels and
// pre-clip grad_norm. So the clipped bias gradient of each step is known, and AdamW + the linear
// schedule + the clip coefficient must reproduce HF's classifier.bias after step 2 and step 5 and
// its AdamW moments. The trajectory helper (tests/support/trajectory.h) is exercised as well.
#include <gtest/gtest.h>

#include <cmath>

#include "bertkit/optimization.h"
#include "bertkit/serialization.h"
#include "support/paths.h"
#include "support/trajectory.h"

namespace bertkit {
namespace {

using ::bertkit::testing::fixture;
using ::bertkit::testing::load_trajectory;

struct Case {
  const char* model;
  const char* stem;
};

class GoldenClassifierBias : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenClassifierBias, AdamWScheduleAndClipReproduceHF) {
  const auto dir = fixture(std::string("golden/") + GetParam().model);
  const auto t = load_trajectory(dir, GetParam().stem);
  ASSERT_EQ(t.steps.size(), 5u);
  const StateDict initial = load_safetensors(dir / "model.safetensors");
  std::vector<float> bias(initial.at("classifier.bias").span<float>().begin(),
                          initial.at("classifier.bias").span<float>().end());
  ASSERT_EQ(bias.size(), 2u);
  const std::vector<ParameterSlice> slices = {{"classifier.bias", 0, 2, {2}}};
  AdamW adamw(trainer_param_groups(slices, t.weight_decay), 2,
              AdamWOptions{t.base_learning_rate, t.adam_beta1, t.adam_beta2, t.adam_epsilon});
  LRScheduler scheduler(SchedulerType::kLinear, t.base_learning_rate, t.num_warmup_steps,
                        t.num_training_steps);
  for (const auto& step : t.steps) {
    const auto labels = step.batch.labels.span<std::int64_t>();
    const double rows = static_cast<double>(labels.size());
    double grad[2] = {0, 0};
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto& z = step.logits[i];
      const double top = std::max(z[0], z[1]);
      const double e0 = std::exp(z[0] - top), e1 = std::exp(z[1] - top);
      grad[0] += (e0 / (e0 + e1) - (labels[i] == 0 ? 1.0 : 0.0)) / rows;
      grad[1] += (e1 / (e0 + e1) - (labels[i] == 1 ? 1.0 : 0.0)) / rows;
    }
    std::vector<float> g = {static_cast<float>(grad[0]), static_cast<float>(grad[1])};
    // clip_grad_norm_ with the golden pre-clip norm of the whole model.
    const float norm = static_cast<float>(step.grad_norm);
    const float coef = (1.0f / (norm + 1e-6f)) * static_cast<float>(t.max_grad_norm);
    if (coef < 1.0f) {
      for (float& x : g) x *= coef;
    }
    EXPECT_NEAR(scheduler.get_last_lr(), step.learning_rate, 1e-12);
    adamw.set_lr(scheduler.get_last_lr());
    adamw.step(bias, g);
    scheduler.step();
    EXPECT_NEAR(scheduler.get_last_lr(), step.learning_rate_logged_by_trainer, 1e-12);
    if (step.step == 2) {
      const auto want = t.tensors.at("after_step2.classifier.bias").span<float>();
      for (int c = 0; c < 2; ++c)
        EXPECT_NEAR(bias[c], want[c], 1e-9) << "after step 2, class " << c;
    }
  }
  const auto want = t.tensors.at("param.classifier.bias").span<float>();
  const auto m = t.tensors.at("adam.exp_avg.classifier.bias").span<float>();
  const auto v = t.tensors.at("adam.exp_avg_sq.classifier.bias").span<float>();
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(bias[c], want[c], 1e-9) << "after step 5, class " << c;
    // Our gradient comes from float64 softmax; torch's float32 softmax is off by up to half an
    // ulp of 0.5 (3e-8) per row, and the bias gradient is a cancelling mean of four rows.
    EXPECT_NEAR(adamw.exp_avg()[c], m[c], 2e-8) << "exp_avg " << c;
    EXPECT_NEAR(adamw.exp_avg_sq()[c], v[c], 1e-5 * std::fabs(v[c]) + 1e-15) << "exp_avg_sq " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(TinyAndSmall, GoldenClassifierBias,
                         ::testing::Values(Case{"tiny", "trajectory"},
                                           Case{"tiny", "trajectory_lr1e-3"},
                                           Case{"small", "trajectory"},
                                           Case{"small", "trajectory_lr1e-3"}));

TEST(TrajectoryHelper, LoadsBatchesAndRunsTrainerSteps) {
  const auto dir = fixture("golden/tiny");
  const auto t = load_trajectory(dir);
  ASSERT_EQ(t.steps.size(), 5u);
  EXPECT_EQ(t.steps[0].batch.input_ids.shape(), (std::vector<std::int64_t>{4, 16}));
  EXPECT_EQ(t.steps[4].batch.labels.shape(), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(t.weight_decay, 0.01);
  // The arena: every parameter of model.safetensors, decay ones first.
  const StateDict weights = load_safetensors(dir / "model.safetensors");
  std::vector<ParameterSlice> slices;
  std::vector<float> params;
  for (const auto* names : {&t.decay_parameter_names, &t.no_decay_parameter_names}) {
    for (const auto& name : *names) {
      const auto values = weights.at(name).span<float>();
      slices.push_back({name,
                        static_cast<std::int64_t>(params.size()),
                        static_cast<std::int64_t>(values.size()),
                        {}});
      params.insert(params.end(), values.begin(), values.end());
    }
  }
  EXPECT_EQ(params.size(), 53154u);  // the README's parameter count for tiny
  const std::vector<float> before = params;
  int calls = 0;
  // Zero gradients: AdamW then only applies weight decay, a product of (1 - lr * wd) factors.
  const auto run = ::bertkit::testing::run_trajectory(
      t, params, slices, [&](const ::bertkit::testing::TrajectoryBatch&, std::span<float>) {
        ++calls;
        return 0.5f;
      });
  EXPECT_EQ(calls, 5);
  ASSERT_EQ(run.steps.size(), 5u);
  EXPECT_EQ(run.optimizer.step_count(), 5);
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_NEAR(run.steps[k].learning_rate, t.steps[k].learning_rate, 1e-12);
    EXPECT_NEAR(run.steps[k].learning_rate_logged, t.steps[k].learning_rate_logged_by_trainer,
                1e-12);
    EXPECT_EQ(run.steps[k].grad_norm, 0.0f);
  }
  float expected = before[100];  // inside word_embeddings, a decay parameter
  for (const auto& step : t.steps)
    expected = expected * static_cast<float>(1.0 - step.learning_rate * 0.01);
  EXPECT_EQ(params[100], expected);
  const auto bias = std::find_if(slices.begin(), slices.end(),
                                 [](auto& s) { return s.name == "classifier.bias"; });
  EXPECT_EQ(params[static_cast<std::size_t>(bias->offset)],
            before[static_cast<std::size_t>(bias->offset)]);
}

}  // namespace
}  // namespace bertkit
