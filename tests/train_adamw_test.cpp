// AdamW, gradient clipping and weight-decay groups. AdamW is checked (1) bit for bit against a
// plain scalar transcription of torch 1.13's float32 operation sequence, whatever the threading
// and vector path, (2) against a double-precision re-derivation of the algorithm, (3) on the
// golden trajectory's defining property that a step at lr 0 moves no parameter but updates the
// moments. The decay/no-decay split is checked against the golden Trainer's lists.
#pragma GCC optimize("fp-contract=off")

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bertkit/optimization.h"
#include "bertkit/serialization.h"
#include "support/paths.h"
#include "train/adamw_dispatch.h"

namespace bertkit {
namespace {

using ::bertkit::testing::fixture;
using ::bertkit::testing::make_temp_dir;

struct Problem {
  std::vector<ParameterSlice> slices;
  std::int64_t size = 0;
  std::vector<float> params, grads;
};

// Slices of awkward sizes (tails of every length) and one large enough to be split over threads.
Problem make_problem(std::uint32_t seed) {
  Problem p;
  const std::vector<std::pair<std::string, std::int64_t>> shapes = {
      {"bert.embeddings.word_embeddings.weight", 100003},
      {"bert.embeddings.LayerNorm.weight", 37},
      {"bert.embeddings.LayerNorm.bias", 37},
      {"classifier.weight", 64},
      {"classifier.bias", 2},
      {"bert.pooler.dense.weight", 1}};
  for (const auto& [name, n] : shapes) {
    p.slices.push_back({name, p.size, n, {}});
    p.size += n;
  }
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  p.params.resize(static_cast<std::size_t>(p.size));
  p.grads.resize(static_cast<std::size_t>(p.size));
  for (auto& x : p.params) x = normal(rng);
  for (auto& x : p.grads) x = normal(rng) * 3.0f;
  return p;
}

// torch 1.13 _single_tensor_adamw, one element at a time, scalars cast as ATen casts them.
void reference_step(float& p, float g, float& m, float& v, double lr, double wd, std::int64_t step,
                    const AdamWOptions& o) {
  p = p * static_cast<float>(1.0 - lr * wd);
  m = std::fma(g, static_cast<float>(1.0 - o.beta1), m * static_cast<float>(o.beta1));
  v = v * static_cast<float>(o.beta2) + (static_cast<float>(1.0 - o.beta2) * g) * g;
  const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  const float denom = std::sqrt(v) / static_cast<float>(std::sqrt(bc2)) + static_cast<float>(o.eps);
  p = p + (static_cast<float>(-(lr / bc1)) * m) / denom;
}

class AdamWPaths : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { train::force_portable_adamw(GetParam()); }
  void TearDown() override { train::force_portable_adamw(false); }
};

TEST_P(AdamWPaths, BitExactAgainstTorchOperationOrder) {
  Problem p = make_problem(1);
  AdamWOptions options;
  options.lr = 1e-3;
  AdamW adamw(trainer_param_groups(p.slices, 0.01), p.size, options);
  std::vector<float> ref_p = p.params, ref_m(p.params.size()), ref_v(p.params.size());
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (int step = 1; step <= 6; ++step) {
    for (auto& g : p.grads) g = normal(rng);
    const double lr = step == 1 ? 0.0 : 1e-3 / step;
    adamw.set_lr(lr);
    adamw.step(p.params, p.grads);
    for (const auto& s : p.slices) {
      const double wd = is_decay_parameter(s.name) ? 0.01 : 0.0;
      for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
        const auto k = static_cast<std::size_t>(i);
        reference_step(ref_p[k], p.grads[k], ref_m[k], ref_v[k], lr, wd, step, options);
      }
    }
  }
  EXPECT_EQ(adamw.step_count(), 6);
  for (std::size_t k = 0; k < ref_p.size(); ++k) {
    ASSERT_EQ(p.params[k], ref_p[k]) << "element " << k;
    ASSERT_EQ(adamw.exp_avg()[k], ref_m[k]) << "element " << k;
    ASSERT_EQ(adamw.exp_avg_sq()[k], ref_v[k]) << "element " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(AvxAndPortable, AdamWPaths, ::testing::Values(false, true));

TEST(AdamW, AgreesWithDoublePrecisionDerivation) {
  Problem p = make_problem(2);
  AdamWOptions options;
  options.lr = 2e-3;
  const double wd = 0.05;
  AdamW adamw(trainer_param_groups(p.slices, wd), p.size, options);
  std::vector<double> dp(p.params.begin(), p.params.end()), dm(dp.size()), dv(dp.size());
  for (int step = 1; step <= 10; ++step) {
    adamw.step(p.params, p.grads);
    for (const auto& s : p.slices) {
      const double decay = is_decay_parameter(s.name) ? wd : 0.0;
      for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const double g = p.grads[k];
        dp[k] *= 1 - options.lr * decay;
        dm[k] = 0.9 * dm[k] + 0.1 * g;
        dv[k] = 0.999 * dv[k] + 0.001 * g * g;
        const double mhat = dm[k] / (1 - std::pow(0.9, step));
        const double vhat = dv[k] / (1 - std::pow(0.999, step));
        dp[k] -= options.lr * mhat / (std::sqrt(vhat) + 1e-8);
      }
    }
  }
  double worst = 0;
  for (std::size_t k = 0; k < dp.size(); ++k)
    worst = std::max(worst, std::fabs(dp[k] - p.params[k]));
  // The parameters moved by up to 10 * lr = 2e-2; float32 rounding stays far below that.
  EXPECT_LT(worst, 2e-7);
}

TEST(AdamW, FirstStepIsSignDescentAndZeroLrKeepsParameters) {
  Problem p = make_problem(3);
  const std::vector<float> before = p.params;
  AdamW adamw(trainer_param_groups(p.slices, 0.01), p.size, AdamWOptions{0.0, 0.9, 0.999, 1e-8});
  adamw.step(p.params, p.grads);  // the golden step 1: lr 0
  EXPECT_EQ(p.params, before);
  EXPECT_EQ(adamw.step_count(), 1);
  EXPECT_FLOAT_EQ(adamw.exp_avg()[5], 0.1f * p.grads[5]);
  adamw.set_lr(1e-3);
  AdamW fresh(trainer_param_groups(p.slices, 0.0), p.size, AdamWOptions{1e-3, 0.9, 0.999, 1e-8});
  std::vector<float> q = before;
  fresh.step(q, p.grads);
  for (std::size_t k = 0; k < q.size(); k += 997) {
    const float g = p.grads[k];
    EXPECT_NEAR(q[k] - before[k], -1e-3 * g / (std::fabs(g) + 1e-8), 1e-8) << k;
  }
}

TEST(AdamW, SaveAndLoadRoundTrip) {
  Problem p = make_problem(4);
  AdamW a(trainer_param_groups(p.slices, 0.01), p.size, AdamWOptions{1e-3, 0.9, 0.999, 1e-8});
  a.step(p.params, p.grads);
  a.step(p.params, p.grads);
  const auto dir = make_temp_dir("bertkit-adamw");
  a.save(dir / "optimizer.safetensors");
  Metadata metadata;
  const StateDict saved = load_safetensors(dir / "optimizer.safetensors", &metadata);
  EXPECT_EQ(metadata["format"], "bertkit.adamw");
  EXPECT_EQ(metadata["step"], "2");
  EXPECT_EQ(saved.count("exp_avg_sq.classifier.bias"), 1u);
  AdamW b(trainer_param_groups(p.slices, 0.01), p.size, AdamWOptions{1e-3, 0.9, 0.999, 1e-8});
  b.load(dir / "optimizer.safetensors");
  EXPECT_EQ(b.step_count(), 2);
  EXPECT_TRUE(std::equal(a.exp_avg().begin(), a.exp_avg().end(), b.exp_avg().begin()));
  EXPECT_TRUE(std::equal(a.exp_avg_sq().begin(), a.exp_avg_sq().end(), b.exp_avg_sq().begin()));
  // A layout the file does not hold is refused by name.
  std::vector<ParameterSlice> other = p.slices;
  other[1].name = "bert.embeddings.LayerNorm.gamma";
  AdamW c(trainer_param_groups(other, 0.01), p.size);
  try {
    c.load(dir / "optimizer.safetensors");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("LayerNorm.gamma"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(AdamW, RejectsBadLayouts) {
  EXPECT_THROW(AdamW({ParamGroup{{{"a", 0, 10, {}}}, 0.0}}, 5), InvalidArgument);
  EXPECT_THROW(AdamW({ParamGroup{{{"a", 0, 6, {}}, {"b", 5, 2, {}}}, 0.0}}, 10), InvalidArgument);
  AdamW ok({ParamGroup{{{"a", 0, 4, {}}}, 0.0}}, 4);
  std::vector<float> params(3), grads(3);
  EXPECT_THROW(ok.step(params, grads), InvalidArgument);
}

TEST(ClipGradNorm, NormOfNormsMatchesDoubleAndClips) {
  Problem p = make_problem(5);
  double sum = 0;
  for (float g : p.grads) sum += static_cast<double>(g) * g;
  const double expected = std::sqrt(sum);
  const std::vector<float> before = p.grads;
  const float norm = clip_grad_norm(p.grads, p.slices, 1.0);
  EXPECT_NEAR(norm, expected, expected * 1e-6);
  ASSERT_GT(norm, 1.0f);
  const float coef = (1.0f / (norm + 1e-6f)) * 1.0f;
  for (std::size_t k = 0; k < before.size(); k += 101) EXPECT_EQ(p.grads[k], before[k] * coef);
  EXPECT_NEAR(grad_norm(p.grads, p.slices), 1.0, 1e-5);
  // Below max_norm nothing changes.
  const std::vector<float> clipped = p.grads;
  clip_grad_norm(p.grads, p.slices, 100.0);
  EXPECT_EQ(p.grads, clipped);
}

TEST(ClipGradNorm, SummationOrderIsTorchs) {
  std::vector<float> values(1003);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (auto& x : values) x = u(rng);
  float lanes[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= values.size(); i += 8) {
    for (int j = 0; j < 8; ++j) lanes[j] = lanes[j] + values[i + j] * values[i + j];
  }
  float sum = lanes[0];
  for (int j = 1; j < 8; ++j) sum = sum + lanes[j];
  for (; i < values.size(); ++i) sum = sum + values[i] * values[i];
  EXPECT_EQ(float32_l2_norm(values), std::sqrt(sum));
  EXPECT_EQ(float32_l2_norm({}), 0.0f);
}

TEST(ClipGradNorm, NonFiniteGradientStopsWithItsName) {
  Problem p = make_problem(6);
  p.grads[static_cast<std::size_t>(p.slices[3].offset + 5)] = std::nanf("");
  const std::vector<float> before = p.grads;
  try {
    clip_grad_norm(p.grads, p.slices, 1.0);
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("classifier.weight"), std::string::npos) << e.what();
  }
  for (std::size_t k = 0; k < before.size(); k += 53) {
    if (!std::isnan(before[k])) {
      EXPECT_EQ(p.grads[k], before[k]);
    }
  }
  p.grads[0] = INFINITY;
  EXPECT_THROW(grad_norm(p.grads, p.slices), NonFiniteError);
  EXPECT_THROW(clip_grad_norm(p.grads, p.slices, 0.0), InvalidArgument);
}

class DecayNames : public ::testing::TestWithParam<std::string> {};

TEST_P(DecayNames, MatchTrainerGetDecayParameterNames) {
  std::ifstream in(fixture(GetParam()));
  const auto golden = nlohmann::json::parse(in);
  const auto decay = golden["decay_parameter_names"].get<std::vector<std::string>>();
  const auto no_decay = golden["no_decay_parameter_names"].get<std::vector<std::string>>();
  std::vector<std::string> all = decay;
  all.insert(all.end(), no_decay.begin(), no_decay.end());
  EXPECT_EQ(get_decay_parameter_names(all), decay);
  for (const auto& name : no_decay) EXPECT_FALSE(is_decay_parameter(name)) << name;
  std::vector<ParameterSlice> slices;
  for (std::size_t i = 0; i < all.size(); ++i)
    slices.push_back({all[i], static_cast<std::int64_t>(i), 1, {}});
  const auto groups = trainer_param_groups(slices, 0.01);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].weight_decay, golden["optimizer"]["weight_decay"].get<double>());
  EXPECT_EQ(groups[0].params.size(), decay.size());
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[1].params.size(), no_decay.size());
}

INSTANTIATE_TEST_SUITE_P(TinyAndSmall, DecayNames,
                         ::testing::Values("golden/tiny/trajectory.json",
                                           "golden/small/trajectory.json"));

}  // namespace
}  // namespace bertkit
