// The forward pass against transformers 4.44.2 (tests/fixtures/golden/{tiny,small}, copied from
// shared/golden/models): every hidden state, every attention map, pooler, logits and loss, with
// the tolerances of shared/golden/README.md. The max abs error per tensor is printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "support/paths.h"

namespace {

using bertkit::BertConfig;
using bertkit::BertForSequenceClassification;
using bertkit::BertModel;
using bertkit::ModelInput;
using bertkit::StateDict;
using bertkit::Tensor;

struct Golden {
  BertConfig config;
  StateDict weights;
  StateDict outputs;
};

Golden load_golden(const std::string& name) {
  const auto dir = bertkit::testing::fixture("golden/" + name);
  return {BertConfig::from_pretrained(dir), bertkit::load_safetensors(dir / "model.safetensors"),
          bertkit::load_safetensors(dir / "outputs.safetensors")};
}

// Max |got - want|, and whether every element is within atol + rtol * |want|.
void expect_close(const std::string& what, const Tensor& got, const Tensor& want, double atol,
                  double rtol) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  auto g = got.span<float>();
  auto w = want.span<float>();
  double max_err = 0.0;
  std::size_t bad = 0, first_bad = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double e = std::fabs(double(g[i]) - double(w[i]));
    max_err = std::max(max_err, e);
    if (!(e <= atol + rtol * std::fabs(double(w[i])))) {
      if (bad++ == 0) first_bad = i;
    }
  }
  std::printf("  %-28s %-16s max abs err %.3g\n", what.c_str(), got.shape_string().c_str(),
              max_err);
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " elements outside atol " << atol << " rtol " << rtol
                     << "; first at " << first_bad << ": got " << g[first_bad] << " want "
                     << w[first_bad];
}

ModelInput golden_input(const StateDict& outputs, bool with_labels) {
  ModelInput in = ModelInput::from_tensors(outputs.at("input_ids"), outputs.at("attention_mask"),
                                           outputs.at("token_type_ids"));
  if (with_labels) {
    auto labels = outputs.at("labels").span<std::int64_t>();
    in.labels.assign(labels.begin(), labels.end());
  }
  return in;
}

class GoldenForward : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenForward, EveryOutputMatchesTransformers) {
  const Golden g = load_golden(GetParam());
  auto model = BertForSequenceClassification::from_state_dict(g.config, g.weights, {}, GetParam());
  const auto out = model.forward(golden_input(g.outputs, true),
                                 {.output_hidden_states = true, .output_attentions = true});
  const std::int64_t L = g.config.num_hidden_layers;
  std::printf("golden model %s (L=%lld, H=%lld)\n", GetParam().c_str(), (long long)L,
              (long long)g.config.hidden_size);
  ASSERT_EQ(out.hidden_states.size(), std::size_t(L + 1));
  ASSERT_EQ(out.attentions.size(), std::size_t(L));
  for (std::int64_t l = 0; l <= L; ++l) {
    const std::string name = "hidden_states." + std::to_string(l);
    expect_close(name, out.hidden_states[l], g.outputs.at(name), 1e-5, 1e-4);
  }
  for (std::int64_t l = 0; l < L; ++l) {
    const std::string name = "attentions." + std::to_string(l);
    expect_close(name, out.attentions[l], g.outputs.at(name), 1e-6, 0.0);
  }
  expect_close("bert.last_hidden_state", out.last_hidden_state,
               g.outputs.at("bert.last_hidden_state"), 1e-5, 1e-4);
  expect_close("bert.pooler_output", out.pooler_output, g.outputs.at("bert.pooler_output"), 1e-5,
               0.0);
  expect_close("logits", out.logits, g.outputs.at("logits"), 1e-5, 0.0);
  ASSERT_TRUE(out.loss.has_value());
  const float want_loss = g.outputs.at("loss").span<float>()[0];
  std::printf("  %-28s got %.8f want %.8f abs err %.3g\n", "loss", *out.loss, want_loss,
              std::fabs(*out.loss - want_loss));
  EXPECT_NEAR(*out.loss, want_loss, 1e-5);
}

TEST_P(GoldenForward, MasksPaddedKeysExactly) {
  const Golden g = load_golden(GetParam());
  auto model = BertForSequenceClassification::from_state_dict(g.config, g.weights, {}, GetParam());
  const auto out = model.forward(golden_input(g.outputs, false), {.output_attentions = true});
  const auto mask = g.outputs.at("attention_mask").span<std::int64_t>();
  const std::int64_t S = out.attentions[0].dim(3), NH = out.attentions[0].dim(1);
  for (const Tensor& probs : out.attentions) {
    auto p = probs.span<float>();
    for (std::int64_t b = 0; b < probs.dim(0); ++b) {
      for (std::int64_t h = 0; h < NH; ++h) {
        for (std::int64_t i = 0; i < S; ++i) {
          for (std::int64_t j = 0; j < S; ++j) {
            if (mask[b * S + j] == 0) {
              ASSERT_EQ(p[((b * NH + h) * S + i) * S + j], 0.0f);
            }
          }
        }
      }
    }
  }
}

TEST_P(GoldenForward, BertModelFromClassifierCheckpointGivesTheSameEncoder) {
  const Golden g = load_golden(GetParam());
  bertkit::LoadOptions quiet;
  quiet.verbose = false;
  auto model = BertModel::from_state_dict(g.config, g.weights, quiet, GetParam());
  const auto out = model.forward(golden_input(g.outputs, false));
  EXPECT_TRUE(out.logits.empty());
  expect_close("bert.last_hidden_state", out.last_hidden_state,
               g.outputs.at("bert.last_hidden_state"), 1e-5, 1e-4);
  expect_close("bert.pooler_output", out.pooler_output, g.outputs.at("bert.pooler_output"), 1e-5,
               0.0);
}

// A sequence's result must not depend on what it is batched with or on its padding.
TEST_P(GoldenForward, RowsDoNotDependOnTheirBatch) {
  const Golden g = load_golden(GetParam());
  auto model = BertForSequenceClassification::from_state_dict(g.config, g.weights, {}, GetParam());
  const ModelInput batch = golden_input(g.outputs, false);
  const auto full = model.forward(batch);
  const std::int64_t S = batch.seq_length, H = g.config.hidden_size;
  for (std::int64_t b = 0; b < batch.batch_size; ++b) {
    std::int64_t len = 0;
    for (std::int64_t s = 0; s < S; ++s) len += batch.attention_mask[b * S + s];
    ModelInput one;
    one.batch_size = 1;
    one.seq_length = len;
    one.input_ids.assign(batch.input_ids.begin() + b * S, batch.input_ids.begin() + b * S + len);
    one.token_type_ids.assign(batch.token_type_ids.begin() + b * S,
                              batch.token_type_ids.begin() + b * S + len);
    const auto alone = model.forward(one);
    auto lh = alone.last_hidden_state.span<float>();
    auto fh = full.last_hidden_state.span<float>();
    double err = 0.0;
    for (std::int64_t i = 0; i < len * H; ++i) {
      err = std::max(err, std::fabs(double(lh[i]) - fh[b * S * H + i]));
    }
    EXPECT_LT(err, 1e-5) << "row " << b;
    for (std::int64_t c = 0; c < g.config.num_labels(); ++c) {
      EXPECT_NEAR(alone.logits.span<float>()[c],
                  full.logits.span<float>()[b * g.config.num_labels() + c], 1e-6)
          << "row " << b;
    }
    // The same row padded far beyond its length, batched with a different neighbour.
    ModelInput padded = ModelInput::from_ids(
        {std::vector<std::int32_t>(one.input_ids), std::vector<std::int32_t>(S + 7, 200)});
    padded.token_type_ids.assign(padded.input_ids.size(), 0);
    std::copy(one.token_type_ids.begin(), one.token_type_ids.end(), padded.token_type_ids.begin());
    const auto mixed = model.forward(padded);
    for (std::int64_t c = 0; c < g.config.num_labels(); ++c) {
      EXPECT_NEAR(mixed.logits.span<float>()[c], alone.logits.span<float>()[c], 1e-6)
          << "row " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenForward, ::testing::Values("tiny", "small"));

}  // namespace
