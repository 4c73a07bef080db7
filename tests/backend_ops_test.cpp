// The fast CPU kernels (src/backend/cpu) against the plain reference loops, on random inputs of
// awkward sizes (not multiples of the vector width), with several thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend/ops.h"

namespace {

namespace ops = bertkit::ops;
namespace ref = bertkit::ops::reference;
using bertkit::Activation;

std::vector<float> random_vec(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

class OpsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { ops::set_num_threads(GetParam()); }
  void TearDown() override { ops::set_num_threads(0); }
};

TEST_P(OpsTest, MatmulWithAndWithoutBias) {
  const std::int64_t N = 37, C = 53, OC = 29;
  auto x = random_vec(N * C, 1), w = random_vec(OC * C, 2), b = random_vec(OC, 3);
  std::vector<float> got(N * OC), want(N * OC);
  ops::matmul_forward(got.data(), x.data(), w.data(), b.data(), N, C, OC);
  ref::matmul_forward(want.data(), x.data(), w.data(), b.data(), N, C, OC);
  EXPECT_LT(max_abs_diff(got, want), 1e-4);
  ops::matmul_forward(got.data(), x.data(), w.data(), nullptr, N, C, OC);
  ref::matmul_forward(want.data(), x.data(), w.data(), nullptr, N, C, OC);
  EXPECT_LT(max_abs_diff(got, want), 1e-4);
}

TEST_P(OpsTest, MatmulOnStridedRows) {
  // The pooler reads the first token of each sequence: rows S*H apart.
  const std::int64_t B = 5, S = 7, H = 19;
  auto x = random_vec(B * S * H, 4), w = random_vec(H * H, 5), b = random_vec(H, 6);
  std::vector<float> rows(B * H), got(B * H), want(B * H);
  for (std::int64_t i = 0; i < B; ++i) std::copy_n(x.begin() + i * S * H, H, rows.begin() + i * H);
  ops::matmul_forward(got.data(), x.data(), w.data(), b.data(), B, H, H, S * H, H);
  ref::matmul_forward(want.data(), rows.data(), w.data(), b.data(), B, H, H);
  EXPECT_LT(max_abs_diff(got, want), 1e-4);
}

TEST_P(OpsTest, BiasActivationEveryActivation) {
  const std::int64_t N = 13, C = 67;
  auto pre0 = random_vec(N * C, 7, 3.0f), bias = random_vec(C, 8);
  for (Activation act : {Activation::kGelu, Activation::kGeluNew, Activation::kGeluPytorchTanh,
                         Activation::kRelu, Activation::kSilu}) {
    auto pre_got = pre0, pre_want = pre0;
    std::vector<float> got(N * C), want(N * C);
    ops::bias_activation_forward(got.data(), pre_got.data(), bias.data(), N, C, act);
    ref::bias_activation_forward(want.data(), pre_want.data(), bias.data(), N, C, act);
    EXPECT_LT(max_abs_diff(pre_got, pre_want), 1e-6) << bertkit::activation_name(act);
    EXPECT_LT(max_abs_diff(got, want), 1e-6) << bertkit::activation_name(act);
  }
}

TEST_P(OpsTest, GeluIsTheExactErfForm) {
  // torch.nn.functional.gelu values (approximate='none') at a few points.
  const float xs[] = {-3.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 3.0f};
  const float want[] = {-0.0040496886f, -0.15865525f, -0.15426877f, 0.0f,
                        0.34573123f,    0.84134475f,  2.9959502f};
  float got[7];
  ops::activation_forward(got, xs, 7, Activation::kGelu);
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(got[i], want[i], 2e-7) << xs[i];
}

TEST_P(OpsTest, Tanh) {
  auto x = random_vec(1001, 9, 2.0f);
  std::vector<float> got(x.size()), want(x.size());
  ops::tanh_forward(got.data(), x.data(), x.size());
  ref::tanh_forward(want.data(), x.data(), x.size());
  EXPECT_LT(max_abs_diff(got, want), 5e-7);  // vectorised tanh: a few float ulps
}

TEST_P(OpsTest, Embeddings) {
  const std::int64_t B = 3, S = 9, H = 21, V = 50, P = 16, T = 2;
  auto wte = random_vec(V * H, 10), wpe = random_vec(P * H, 11), wtt = random_vec(T * H, 12);
  std::vector<std::int32_t> ids(B * S), types(B * S);
  for (std::int64_t i = 0; i < B * S; ++i) {
    ids[i] = static_cast<std::int32_t>((i * 7) % V);
    types[i] = static_cast<std::int32_t>(i % 2);
  }
  std::vector<float> got(B * S * H), want(B * S * H);
  ops::embeddings_forward(got.data(), ids.data(), types.data(), wte.data(), wpe.data(), wtt.data(),
                          B, S, H);
  ref::embeddings_forward(want.data(), ids.data(), types.data(), wte.data(), wpe.data(), wtt.data(),
                          B, S, H);
  EXPECT_EQ(max_abs_diff(got, want), 0.0);
}

TEST_P(OpsTest, LayerNormAndResidualLayerNorm) {
  const std::int64_t N = 11, C = 77;
  auto x = random_vec(N * C, 13, 4.0f), w = random_vec(C, 14), b = random_vec(C, 15);
  auto r = random_vec(N * C, 16), bias = random_vec(C, 17);
  for (auto& v : x) v += 10.0f;  // an offset mean: the variance must not cancel
  std::vector<float> got(N * C), want(N * C), mg(N), rg(N), mw(N), rw(N);
  ops::layernorm_forward(got.data(), mg.data(), rg.data(), x.data(), w.data(), b.data(), N, C,
                         1e-12f);
  ref::layernorm_forward(want.data(), mw.data(), rw.data(), x.data(), w.data(), b.data(), N, C,
                         1e-12f);
  EXPECT_LT(max_abs_diff(got, want), 1e-5);
  EXPECT_LT(max_abs_diff(mg, mw), 1e-5);
  EXPECT_LT(max_abs_diff(rg, rw), 1e-5);
  std::vector<float> pg(N * C), pw(N * C);
  ops::residual_layernorm_forward(got.data(), pg.data(), mg.data(), rg.data(), x.data(),
                                  bias.data(), r.data(), w.data(), b.data(), N, C, 1e-5f);
  ref::residual_layernorm_forward(want.data(), pw.data(), mw.data(), rw.data(), x.data(),
                                  bias.data(), r.data(), w.data(), b.data(), N, C, 1e-5f);
  EXPECT_EQ(max_abs_diff(pg, pw), 0.0);
  EXPECT_LT(max_abs_diff(got, want), 1e-5);
  // In place (x == pre), as the model calls it.
  auto xin = x;
  ops::residual_layernorm_forward(got.data(), xin.data(), mg.data(), rg.data(), xin.data(),
                                  bias.data(), r.data(), w.data(), b.data(), N, C, 1e-5f);
  EXPECT_LT(max_abs_diff(got, want), 1e-5);
}

TEST_P(OpsTest, AttentionWithPadding) {
  const std::int64_t B = 3, S = 13, NH = 3, d = 7, H = NH * d;
  auto qkv = random_vec(B * S * 3 * H, 18, 2.0f);
  std::vector<std::int32_t> mask(B * S, 1);
  for (std::int64_t s = 9; s < S; ++s) mask[1 * S + s] = 0;
  for (std::int64_t s = 2; s < S; ++s) mask[2 * S + s] = 0;
  std::vector<float> madd(B * S);
  ops::attention_mask_forward(madd.data(), mask.data(), B * S);
  std::vector<float> cg(B * S * H), cw(B * S * H), pg(B * NH * S * S), pw(B * NH * S * S);
  ops::attention_forward(cg.data(), pg.data(), qkv.data(), madd.data(), B, S, NH, d);
  ref::attention_forward(cw.data(), pw.data(), qkv.data(), madd.data(), B, S, NH, d);
  EXPECT_LT(max_abs_diff(pg, pw), 1e-6);
  EXPECT_LT(max_abs_diff(cg, cw), 1e-5);
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < NH; ++h) {
      for (std::int64_t i = 0; i < S; ++i) {
        for (std::int64_t j = 0; j < S; ++j) {
          if (!mask[b * S + j]) {
            EXPECT_EQ(pg[((b * NH + h) * S + i) * S + j], 0.0f);
          }
        }
      }
    }
  }
}

TEST_P(OpsTest, CrossEntropyIgnoresMinus100) {
  const std::int64_t B = 6, C = 5;
  auto logits = random_vec(B * C, 19, 3.0f);
  const std::int64_t labels[] = {0, 4, -100, 2, 1, 3};
  EXPECT_NEAR(ops::cross_entropy_forward(logits.data(), labels, B, C),
              ref::cross_entropy_forward(logits.data(), labels, B, C), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Threads, OpsTest, ::testing::Values(1, 2, 3));

}  // namespace
