// The backward pass against transformers (tests/fixtures/golden/{tiny,small}): the loss and every
// `grad.<param>` of outputs.safetensors (one backward from fresh zero grads, eval mode), HF's
// feature-extraction mode (frozen bert), and the 5-step golden trajectories through AdamW, the
// linear schedule and gradient clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "model/bert.h"
#include "support/paths.h"
#include "support/trajectory.h"

namespace bertkit {
namespace {

struct Golden {
  BertForSequenceClassification model;
  StateDict outputs;
  ModelInput input;
  std::vector<std::int64_t> labels;
};

Golden load_golden(const std::string& name) {
  const auto dir = testing::fixture("golden/" + name);
  auto model = BertForSequenceClassification::from_pretrained(dir.string(), {.verbose = false});
  StateDict out = load_safetensors(dir / "outputs.safetensors");
  ModelInput in = ModelInput::from_tensors(out.at("input_ids"), out.at("attention_mask"),
                                           out.at("token_type_ids"));
  const auto l = out.at("labels").span<std::int64_t>();
  return {std::move(model), std::move(out), std::move(in), {l.begin(), l.end()}};
}

// "bert.encoder.layer.3.attention.self.query.weight" ->
// "encoder.layer.*.attention.self.query.weight"
std::string family(const std::string& name) {
  static const std::regex layer_index(R"(layer\.\d+\.)");
  std::string f = std::regex_replace(name, layer_index, "layer.*.");
  return f.rfind("bert.", 0) == 0 ? f.substr(5) : f;
}

class GoldenGradients : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenGradients, LossAndEveryParameterGradientMatchHF) {
  Golden g = load_golden(GetParam());
  g.model.zero_grad();
  const float loss = g.model.train_step_forward_backward(g.input, g.labels);
  EXPECT_NEAR(loss, g.outputs.at("loss").span<float>()[0], 1e-5);
  const auto grads = g.model.gradients();
  std::map<std::string, double> worst;  // max abs error per family
  std::size_t compared = 0;
  for (const auto& slice : g.model.parameter_slices()) {
    const auto it = g.outputs.find("grad." + slice.name);
    ASSERT_NE(it, g.outputs.end()) << "no golden gradient for " << slice.name;
    const auto want = it->second.span<float>();
    ASSERT_EQ(static_cast<std::int64_t>(want.size()), slice.numel) << slice.name;
    // key.bias gradients are mathematically 0 (softmax ignores a per-query constant): the golden
    // values are rounding noise, compared with an absolute tolerance only.
    const bool key_bias = slice.name.find("attention.self.key.bias") != std::string::npos;
    double& w = worst[family(slice.name)];
    for (std::int64_t i = 0; i < slice.numel; ++i) {
      const double got = grads[slice.offset + i], exp = want[i];
      const double err = std::fabs(got - exp);
      w = std::max(w, err);
      const double tol = key_bias ? 1e-6 : 1e-6 + 1e-3 * std::fabs(exp);
      if (err > tol) {
        ADD_FAILURE() << slice.name << "[" << i << "] = " << got << ", HF " << exp;
        break;
      }
    }
    ++compared;
  }
  EXPECT_EQ(compared, g.model.parameter_slices().size());
  for (const auto& [name, err] : worst)
    std::cout << "  max |grad - HF| " << name << ": " << err << "\n";
}

TEST_P(GoldenGradients, GradientsAccumulateUntilZeroGrad) {
  Golden g = load_golden(GetParam());
  g.model.zero_grad();
  g.model.train_step_forward_backward(g.input, g.labels);
  const std::vector<float> once(g.model.gradients().begin(), g.model.gradients().end());
  g.model.train_step_forward_backward(g.input, g.labels);
  const auto twice = g.model.gradients();
  for (std::size_t i = 0; i < once.size(); ++i)
    ASSERT_NEAR(twice[i], 2.0f * once[i], 1e-6 + 1e-5 * std::fabs(once[i])) << i;
  g.model.zero_grad();
  for (float x : g.model.gradients()) ASSERT_EQ(x, 0.0f);
}

TEST_P(GoldenGradients, FrozenBertTrainsOnlyTheClassifier) {
  Golden g = load_golden(GetParam());
  g.model.set_freeze_bert(true);
  g.model.zero_grad();
  const float loss = g.model.train_step_forward_backward(g.input, g.labels);
  EXPECT_NEAR(loss, g.outputs.at("loss").span<float>()[0], 1e-5);
  const auto grads = g.model.gradients();
  for (const auto& slice : g.model.parameter_slices()) {
    const auto want = g.outputs.at("grad." + slice.name).span<float>();
    const bool head = slice.name.rfind("classifier.", 0) == 0;
    for (std::int64_t i = 0; i < slice.numel; ++i) {
      if (head) {
        ASSERT_NEAR(grads[slice.offset + i], want[i], 1e-6 + 1e-3 * std::fabs(want[i]))
            << slice.name;
      } else {
        ASSERT_EQ(grads[slice.offset + i], 0.0f) << slice.name;
      }
    }
  }
}

TEST_P(GoldenGradients, BadLabelsAreRejected) {
  Golden g = load_golden(GetParam());
  const std::vector<std::int64_t> too_few = {1};
  EXPECT_THROW(g.model.train_step_forward_backward(g.input, too_few), InvalidArgument);
  const std::vector<std::int64_t> out_of_range = {1, 0, 7};
  EXPECT_THROW(g.model.train_step_forward_backward(g.input, out_of_range), InvalidArgument);
}

TEST_P(GoldenGradients, TrainModeDropoutDrawsFreshMasksAndEvalModeIsExact) {
  Golden g = load_golden(GetParam());
  ASSERT_GT(g.model.config().hidden_dropout_prob, 0.0);
  const float eval_loss = g.outputs.at("loss").span<float>()[0];
  g.model.set_training(true, 7);
  g.model.zero_grad();
  const float l1 = g.model.train_step_forward_backward(g.input, g.labels);
  const float l2 = g.model.train_step_forward_backward(g.input, g.labels);
  EXPECT_NE(l1, eval_loss);
  EXPECT_NE(l1, l2);              // a fresh draw each step
  g.model.set_training(true, 7);  // restarts the stream: the same masks as the first step
  EXPECT_EQ(g.model.train_step_forward_backward(g.input, g.labels), l1);
  g.model.set_training(false);
  g.model.zero_grad();
  EXPECT_NEAR(g.model.train_step_forward_backward(g.input, g.labels), eval_loss, 1e-5);
  const auto grads = g.model.gradients();
  const auto slice = g.model.parameter_slices().front();  // word embeddings
  const auto want = g.outputs.at("grad." + slice.name).span<float>();
  for (std::int64_t i = 0; i < slice.numel; ++i)
    ASSERT_NEAR(grads[slice.offset + i], want[i], 1e-6 + 1e-3 * std::fabs(want[i]));
  // Inference stays in eval mode whatever the training flag.
  g.model.set_training(true);
  const ModelOutput out = g.model.forward(g.input);
  const auto logits = out.logits.span<float>();
  const auto want_logits = g.outputs.at("logits").span<float>();
  for (std::size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(logits[i], want_logits[i], 1e-5);
}

// Dynamic padding changes the batch shape at every step; the workspaces of a larger shape are
// reused for smaller ones. Whatever ran before, a step must equal the same step on a fresh model.
TEST_P(GoldenGradients, WorkspacesReusedAcrossShapesLeaveNoTrace) {
  Golden used = load_golden(GetParam());
  Golden fresh = load_golden(GetParam());
  const std::int64_t S = used.input.seq_length;
  ASSERT_GE(S, 4);
  // A shorter batch of the first row's first S - 3 tokens (mask all ones), and a longer one.
  ModelInput shorter;
  shorter.batch_size = 1;
  shorter.seq_length = S - 3;
  shorter.input_ids.assign(used.input.input_ids.begin(), used.input.input_ids.begin() + S - 3);
  ModelInput longer = ModelInput::from_ids({std::vector<std::int32_t>(S + 5, 1000)});
  for (auto* m : {&used, &fresh}) m->model.set_training(true, 5);
  const std::vector<std::int64_t> one_label = {used.labels[0]};
  used.model.train_step_forward_backward(longer, one_label);
  used.model.train_step_forward_backward(shorter, one_label);
  used.model.set_training(true, 5);  // the same masks as fresh's first step
  used.model.zero_grad();
  const float loss = used.model.train_step_forward_backward(used.input, used.labels);
  fresh.model.zero_grad();
  EXPECT_EQ(loss, fresh.model.train_step_forward_backward(fresh.input, fresh.labels));
  const auto a = used.model.gradients(), b = fresh.model.gradients();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
  // And inference after training-shaped workspaces: the eval forward is HF's.
  const ModelOutput out = used.model.forward(used.input);
  const auto logits = out.logits.span<float>();
  const auto want = used.outputs.at("logits").span<float>();
  for (std::size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(logits[i], want[i], 1e-5);
}

// With the masks held fixed (same seed, same step), the train-mode loss is a smooth function of
// the parameters: central differences of it must match the backward pass through every dropout.
TEST_P(GoldenGradients, TrainModeGradientsMatchFiniteDifferences) {
  Golden g = load_golden(GetParam());
  model::Bert& net = g.model.impl();
  const auto slices = g.model.parameter_slices();
  std::vector<float> grads(net.layout().total, 0.0f), scratch(grads.size());
  net.set_dropout(true, 11);
  net.forward_backward(g.input, g.labels, grads.data());
  auto loss_at = [&] {
    net.set_dropout(true, 11);
    return double(net.forward_backward(g.input, g.labels, scratch.data()));
  };
  float* params = net.params();
  int checked = 0;
  for (const auto& s : slices) {
    // The largest gradient of each tensor (a clear signal against float32 rounding of the loss).
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < s.numel; ++i)
      if (std::fabs(grads[s.offset + i]) > std::fabs(grads[s.offset + best])) best = i;
    const double an = grads[s.offset + best];
    if (std::fabs(an) < 1e-3) continue;
    float& p = params[s.offset + best];
    const float saved = p;
    const float h = 1e-2f * std::max(1.0f, std::fabs(saved));
    p = saved + h;
    const double xp = p, lp = loss_at();
    p = saved - h;
    const double xm = p, lm = loss_at();
    p = saved;
    const double fd = (lp - lm) / (xp - xm);
    EXPECT_NEAR(an, fd, 2e-2 * std::fabs(an) + 2e-5) << s.name << "[" << best << "]";
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

// num_labels == 1 is HF's regression: MSELoss on the single logit.
TEST(RegressionHead, MeanSquaredErrorLossAndBiasGradient) {
  const auto dir = testing::fixture("golden/tiny");
  const StateDict outputs = load_safetensors(dir / "outputs.safetensors");
  StateDict weights = load_safetensors(dir / "model.safetensors");
  weights.erase("classifier.weight");  // a fresh one-output head, as num_labels=1 gets in HF
  weights.erase("classifier.bias");
  auto model = BertForSequenceClassification::from_state_dict(
      BertConfig::from_pretrained(dir), weights, {.verbose = false, .num_labels = 1});
  const ModelInput in = ModelInput::from_tensors(
      outputs.at("input_ids"), outputs.at("attention_mask"), outputs.at("token_type_ids"));
  const ModelOutput out = model.forward(in);  // keeps the logits' bytes alive
  const auto logits = out.logits.span<float>();
  ASSERT_EQ(logits.size(), 3u);
  const std::vector<std::int64_t> targets = {0, 0, 0};
  double mse = 0, mean = 0;
  for (float z : logits) {
    mse += double(z) * z / 3.0;
    mean += double(z) / 3.0;
  }
  model.zero_grad();
  EXPECT_NEAR(model.train_step_forward_backward(in, targets), mse, 1e-6);
  const auto grads = model.gradients();
  for (const auto& s : model.parameter_slices()) {
    if (s.name == "classifier.bias") {
      EXPECT_NEAR(grads[s.offset], 2.0 * mean, 1e-6);
    }
  }
}

// BertForSequenceClassification.forward with labels fills config.problem_type (and
// save_pretrained writes it); a problem_type bertkit cannot train is refused up front.
TEST(ProblemType, FirstTrainingStepRecordsItAsHfDoes) {
  Golden g = load_golden("tiny");
  ASSERT_FALSE(g.model.config().problem_type.has_value());
  g.model.train_step_forward_backward(g.input, g.labels);
  EXPECT_EQ(g.model.config().problem_type.value_or(""), "single_label_classification");

  const auto dir = testing::fixture("golden/tiny");
  BertConfig multi = BertConfig::from_pretrained(dir);
  multi.problem_type = "multi_label_classification";
  auto model = BertForSequenceClassification::from_state_dict(
      multi, load_safetensors(dir / "model.safetensors"), {.verbose = false});
  try {
    model.train_step_forward_backward(g.input, g.labels);
    FAIL() << "multi_label_classification was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("multi_label_classification"), std::string::npos);
  }
}

// Float targets (HF's float `labels` with num_labels == 1): MSELoss and its gradient, the same
// loss from forward(label_values), and clear errors for what HF would reject.
TEST(RegressionHead, FloatTargetsTrainAgainstMeanSquaredError) {
  const auto dir = testing::fixture("golden/tiny");
  const StateDict outputs = load_safetensors(dir / "outputs.safetensors");
  StateDict weights = load_safetensors(dir / "model.safetensors");
  weights.erase("classifier.weight");
  weights.erase("classifier.bias");
  auto model = BertForSequenceClassification::from_state_dict(
      BertConfig::from_pretrained(dir), weights, {.verbose = false, .num_labels = 1});
  ModelInput in = ModelInput::from_tensors(outputs.at("input_ids"), outputs.at("attention_mask"),
                                           outputs.at("token_type_ids"));
  const std::vector<float> targets = {0.5f, -1.25f, 3.0f};
  const ModelOutput plain = model.forward(in);
  const auto z = plain.logits.span<float>();
  double mse = 0, mean_residual = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    mse += (double(z[i]) - targets[i]) * (double(z[i]) - targets[i]) / 3.0;
    mean_residual += (double(z[i]) - targets[i]) / 3.0;
  }
  model.zero_grad();
  EXPECT_NEAR(model.train_step_forward_backward(in, targets), mse, 1e-5);
  for (const auto& s : model.parameter_slices()) {
    if (s.name == "classifier.bias") {
      EXPECT_NEAR(model.gradients()[s.offset], 2.0 * mean_residual, 1e-5);
    }
  }
  EXPECT_EQ(model.config().problem_type.value_or(""), "regression");
  in.label_values = targets;
  EXPECT_NEAR(model.forward(in).loss.value(), mse, 1e-5);
  in.labels = {0, 0, 0};  // both kinds at once
  EXPECT_THROW(model.forward(in), InvalidArgument);

  const std::vector<float> with_nan = {0.5f, NAN, 1.0f};
  EXPECT_THROW(model.train_step_forward_backward(ModelInput::from_tensors(outputs.at("input_ids")),
                                                 with_nan),
               InvalidArgument);
  auto classifier =
      BertForSequenceClassification::from_pretrained(dir.string(), {.verbose = false});
  EXPECT_THROW(classifier.train_step_forward_backward(
                   ModelInput::from_tensors(outputs.at("input_ids")), targets),
               InvalidArgument);  // a 2-label model takes class ids
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenGradients, ::testing::Values("tiny", "small"));

// ---- trajectories ---------------------------------------------------------------------------

struct TrajectoryCase {
  const char* model;
  const char* stem;
};

class GoldenTrajectory : public ::testing::TestWithParam<TrajectoryCase> {};

TEST_P(GoldenTrajectory, FiveTrainerStepsMatchHF) {
  const auto dir = testing::fixture(std::string("golden/") + GetParam().model);
  const auto t = testing::load_trajectory(dir, GetParam().stem);
  auto model = BertForSequenceClassification::from_pretrained(dir.string(), {.verbose = false});
  const auto slices = model.parameter_slices();
  std::vector<std::string> decay;
  for (const auto& s : slices)
    if (is_decay_parameter(s.name)) decay.push_back(s.name);
  EXPECT_EQ(decay, t.decay_parameter_names);
  model::Bert& net = model.impl();
  auto forward_backward = [&net](const testing::TrajectoryBatch& b, std::span<float> grads) {
    const ModelInput in = ModelInput::from_tensors(b.input_ids, b.attention_mask, b.token_type_ids);
    const auto labels = b.labels.span<std::int64_t>();
    return net.forward_backward(in, labels, grads.data());
  };
  const auto run = testing::run_trajectory(t, model.parameters(), slices, forward_backward);
  testing::expect_trajectory_matches(t, run, model.parameters(), slices);
  // The helper skips moments it cannot find: make sure the classifier's are there to compare.
  const StateDict moments = run.optimizer.state_dict();
  EXPECT_TRUE(moments.count("exp_avg.classifier.weight"));
  EXPECT_TRUE(moments.count("exp_avg_sq.classifier.bias"));
  double loss_err = 0, norm_rel = 0, param_err = 0;
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    loss_err = std::max(loss_err, std::fabs(run.steps[i].loss - t.steps[i].loss));
    norm_rel = std::max(
        norm_rel, std::fabs(run.steps[i].grad_norm - t.steps[i].grad_norm) / t.steps[i].grad_norm);
  }
  const auto params = model.parameters();
  for (const auto& s : slices) {
    const auto want = t.tensors.at("param." + s.name).span<float>();
    for (std::int64_t i = 0; i < s.numel; ++i)
      param_err = std::max(param_err, std::fabs(double(params[s.offset + i]) - want[i]));
  }
  std::cout << "  max |loss - HF| " << loss_err << ", max rel grad_norm error " << norm_rel
            << ", max |param after step 5 - HF| " << param_err << "\n";
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTrajectory,
                         ::testing::Values(TrajectoryCase{"tiny", "trajectory"},
                                           TrajectoryCase{"tiny", "trajectory_lr1e-3"},
                                           TrajectoryCase{"small", "trajectory"},
                                           TrajectoryCase{"small", "trajectory_lr1e-3"}),
                         [](const auto& info) {
                           std::string n = std::string(info.param.model) + "_" + info.param.stem;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace bertkit
