// The backward kernels: the reference loops against central finite differences of the reference
// forward kernels (float32 forward, steps of 1e-2, a relative check), and the fast kernels
// against the reference loops on awkward sizes with several thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "backend/ops.h"

namespace {

namespace ops = bertkit::ops;
namespace ref = bertkit::ops::reference;
using bertkit::Activation;
using Vec = std::vector<float>;

Vec random_vec(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Central differences of `loss` in every element of x against `analytic`.
void expect_matches_finite_differences(Vec& x, const Vec& analytic,
                                       const std::function<double()>& loss, const char* what,
                                       float step = 1e-2f, double tol = 2e-3) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  double scale = 0.0;
  for (float g : analytic) scale = std::max(scale, std::fabs(double(g)));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float saved = x[i];
    x[i] = saved + step;
    const double xp = x[i], lp = loss();
    x[i] = saved - step;
    const double xm = x[i], lm = loss();
    x[i] = saved;
    const double fd = (lp - lm) / (xp - xm);
    EXPECT_NEAR(analytic[i], fd, tol * (1.0 + scale)) << what << " element " << i;
  }
}

double max_abs_diff(const Vec& a, const Vec& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

double max_abs(const Vec& a) {
  double m = 0.0;
  for (float x : a) m = std::max(m, std::fabs(double(x)));
  return m;
}

// ---- finite differences ---------------------------------------------------------------------

TEST(BackwardFiniteDifferences, Matmul) {
  const std::int64_t N = 5, C = 7, OC = 4;
  Vec x = random_vec(N * C, 1), w = random_vec(OC * C, 2), b = random_vec(OC, 3);
  const Vec g = random_vec(N * OC, 4);
  Vec out(N * OC);
  auto loss = [&] {
    ref::matmul_forward(out.data(), x.data(), w.data(), b.data(), N, C, OC);
    return dot(out, g);
  };
  Vec dx(N * C), dw(OC * C, 0.0f), db(OC, 0.0f);
  ref::matmul_backward(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(), N, C, OC);
  expect_matches_finite_differences(x, dx, loss, "dinp");
  expect_matches_finite_differences(w, dw, loss, "dweight");
  expect_matches_finite_differences(b, db, loss, "dbias");
}

TEST(BackwardFiniteDifferences, Activations) {
  for (Activation act : {Activation::kGelu, Activation::kGeluNew, Activation::kGeluPytorchTanh,
                         Activation::kRelu, Activation::kSilu}) {
    const std::int64_t n = 40;
    Vec pre = random_vec(n, 5, 2.0f);
    // ReLU has a kink at 0: keep the points away from it.
    for (auto& v : pre)
      if (std::fabs(v) < 0.05f) v += 0.1f;
    const Vec g = random_vec(n, 6);
    Vec out(n), zero(n, 0.0f);
    auto loss = [&] {
      Vec p = pre;
      ref::bias_activation_forward(out.data(), p.data(), zero.data(), 1, n, act);
      return dot(out, g);
    };
    Vec d(n);
    ref::activation_backward(d.data(), pre.data(), g.data(), n, act);
    expect_matches_finite_differences(pre, d, loss, "activation", 1e-3f);
  }
}

TEST(BackwardFiniteDifferences, Tanh) {
  const std::int64_t n = 30;
  Vec x = random_vec(n, 7), out(n);
  const Vec g = random_vec(n, 8);
  auto loss = [&] {
    ref::tanh_forward(out.data(), x.data(), n);
    return dot(out, g);
  };
  loss();
  Vec d(n);
  ref::tanh_backward(d.data(), out.data(), g.data(), n);
  expect_matches_finite_differences(x, d, loss, "tanh");
}

TEST(BackwardFiniteDifferences, LayerNorm) {
  const std::int64_t N = 4, C = 9;
  Vec x = random_vec(N * C, 9), w = random_vec(C, 10), b = random_vec(C, 11);
  const Vec g = random_vec(N * C, 12);
  Vec out(N * C), mean(N), rstd(N);
  auto loss = [&] {
    ref::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C,
                           1e-12f);
    return dot(out, g);
  };
  loss();
  Vec dx(N * C), dw(C, 0.0f), db(C, 0.0f);
  ref::layernorm_backward(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(),
                          mean.data(), rstd.data(), N, C);
  expect_matches_finite_differences(x, dx, loss, "dinp");
  expect_matches_finite_differences(w, dw, loss, "dweight");
  expect_matches_finite_differences(b, db, loss, "dbias");
}

TEST(BackwardFiniteDifferences, AttentionWithMaskedKeys) {
  const std::int64_t B = 2, S = 5, NH = 2, d = 3, H = NH * d;
  Vec qkv = random_vec(B * S * 3 * H, 13);
  const std::vector<std::int32_t> mask = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
  Vec madd(B * S);
  ops::attention_mask_forward(madd.data(), mask.data(), B * S);
  const Vec g = random_vec(B * S * H, 14);
  Vec ctx(B * S * H), probs(B * NH * S * S);
  auto loss = [&] {
    ref::attention_forward(ctx.data(), probs.data(), qkv.data(), madd.data(), B, S, NH, d);
    return dot(ctx, g);
  };
  loss();
  Vec dqkv(qkv.size());
  ref::attention_backward(dqkv.data(), g.data(), qkv.data(), probs.data(), B, S, NH, d);
  expect_matches_finite_differences(qkv, dqkv, loss, "dqkv");
  // Masked keys (sequence 0, positions 3 and 4): no gradient into their K and V, exactly.
  for (std::int64_t s = 3; s < 5; ++s) {
    for (std::int64_t c = H; c < 3 * H; ++c) EXPECT_EQ(dqkv[s * 3 * H + c], 0.0f);
  }
}

TEST(BackwardFiniteDifferences, AttentionWithProbsDropout) {
  const std::int64_t B = 2, S = 5, NH = 2, d = 3, H = NH * d, P = B * NH * S * S;
  const float p = 0.3f;
  Vec qkv = random_vec(B * S * 3 * H, 40);
  const std::vector<std::int32_t> mask = {1, 1, 1, 1, 0, 1, 1, 1, 1, 1};
  Vec madd(B * S);
  ops::attention_mask_forward(madd.data(), mask.data(), B * S);
  std::vector<std::uint8_t> keep(P);
  ops::dropout_mask(keep.data(), P, p, 5, 0);
  const Vec g = random_vec(B * S * H, 41);
  Vec ctx(B * S * H), probs(P), dropped(P);
  auto loss = [&] {
    ref::attention_forward(ctx.data(), probs.data(), qkv.data(), madd.data(), B, S, NH, d);
    ops::dropout_apply(dropped.data(), probs.data(), keep.data(), P, p);
    ops::attention_context_forward(ctx.data(), dropped.data(), qkv.data(), B, S, NH, d);
    return dot(ctx, g);
  };
  loss();
  Vec dqkv(qkv.size()), fast(qkv.size()), scratch(P);
  ref::attention_backward(dqkv.data(), g.data(), qkv.data(), probs.data(), B, S, NH, d,
                          dropped.data(), keep.data(), p);
  ops::attention_backward(fast.data(), scratch.data(), g.data(), qkv.data(), probs.data(), B, S, NH,
                          d, dropped.data(), keep.data(), p);
  EXPECT_LT(max_abs_diff(fast, dqkv), 1e-5 * (1 + max_abs(dqkv)));
  expect_matches_finite_differences(qkv, dqkv, loss, "dqkv");
}

TEST(Dropout, MasksAreSeededThreadIndependentAndScaleKeptValues) {
  const std::int64_t n = 100000;
  const float p = 0.1f;
  std::vector<std::uint8_t> a(n), b(n), c(n);
  ops::set_num_threads(1);
  ops::dropout_mask(a.data(), n, p, 42, 3);
  ops::set_num_threads(3);
  ops::dropout_mask(b.data(), n, p, 42, 3);
  ops::dropout_mask(c.data(), n, p, 42, 4);
  ops::set_num_threads(0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::int64_t dropped = 0;
  for (auto k : a) dropped += k == 0;
  EXPECT_NEAR(double(dropped) / n, p, 0.005);
  const Vec x = random_vec(n, 42);
  Vec y(n);
  ops::dropout_apply(y.data(), x.data(), a.data(), n, p);
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] ? x[i] * (1.0f / (1.0f - p)) : 0.0f);
}

TEST(BackwardFiniteDifferences, Embeddings) {
  const std::int64_t B = 2, S = 3, H = 4, V = 5, P = 4, T = 2;
  const std::vector<std::int32_t> ids = {1, 4, 1, 0, 1, 3}, types = {0, 0, 1, 1, 0, 1};
  Vec wte = random_vec(V * H, 15), wpe = random_vec(P * H, 16), wtt = random_vec(T * H, 17);
  const Vec g = random_vec(B * S * H, 18);
  Vec out(B * S * H);
  auto loss = [&] {
    ref::embeddings_forward(out.data(), ids.data(), types.data(), wte.data(), wpe.data(),
                            wtt.data(), B, S, H);
    return dot(out, g);
  };
  Vec dwte(V * H, 0.0f), dwpe(P * H, 0.0f), dwtt(T * H, 0.0f);
  ref::embeddings_backward(dwte.data(), dwpe.data(), dwtt.data(), g.data(), ids.data(),
                           types.data(), B, S, H);
  expect_matches_finite_differences(wte, dwte, loss, "word");
  expect_matches_finite_differences(wpe, dwpe, loss, "position");
  expect_matches_finite_differences(wtt, dwtt, loss, "token_type");
}

TEST(BackwardFiniteDifferences, CrossEntropyIgnoresMinus100) {
  const std::int64_t B = 4, C = 3;
  Vec logits = random_vec(B * C, 19);
  const std::vector<std::int64_t> labels = {2, -100, 0, 1};
  auto loss = [&] {
    return double(ref::cross_entropy_forward(logits.data(), labels.data(), B, C));
  };
  Vec d(B * C), d_fast(B * C);
  ref::cross_entropy_backward(d.data(), logits.data(), labels.data(), B, C);
  expect_matches_finite_differences(logits, d, loss, "dlogits", 1e-2f, 1e-3);
  ops::cross_entropy_backward(d_fast.data(), logits.data(), labels.data(), B, C);
  EXPECT_LT(max_abs_diff(d, d_fast), 1e-7);
  for (std::int64_t c = 0; c < C; ++c) EXPECT_EQ(d_fast[C + c], 0.0f);
}

TEST(BackwardFiniteDifferences, MeanSquaredError) {
  const std::int64_t B = 5;
  Vec pred = random_vec(B, 20);
  const Vec target = random_vec(B, 21);
  auto loss = [&] { return double(ops::mse_forward(pred.data(), target.data(), B)); };
  Vec d(B);
  ops::mse_backward(d.data(), pred.data(), target.data(), B);
  expect_matches_finite_differences(pred, d, loss, "dpred", 1e-2f, 1e-4);
}

// ---- fast against reference -----------------------------------------------------------------

class FastBackward : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { ops::set_num_threads(GetParam()); }
  void TearDown() override { ops::set_num_threads(0); }
};

TEST_P(FastBackward, MatmulAccumulatesAndStrides) {
  const std::int64_t N = 37, C = 67, OC = 29;
  const Vec x = random_vec(N * C, 22), w = random_vec(OC * C, 23), g = random_vec(N * OC, 24);
  for (bool acc : {false, true}) {
    Vec dx = random_vec(N * C, 25), dw = random_vec(OC * C, 26), db = random_vec(OC, 27);
    Vec rdx = dx, rdw = dw, rdb = db;
    ops::matmul_backward(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(), N, C, OC,
                         acc);
    ref::matmul_backward(rdx.data(), rdw.data(), rdb.data(), g.data(), x.data(), w.data(), N, C, OC,
                         acc);
    EXPECT_LT(max_abs_diff(dx, rdx), 1e-4);
    EXPECT_LT(max_abs_diff(dw, rdw), 1e-4);
    EXPECT_LT(max_abs_diff(db, rdb), 1e-4);
  }
  // Strided rows (the pooler reads the [CLS] row of each sequence): rows 0, 3, 6, ... of x.
  const std::int64_t rows = N / 3;
  Vec xs(rows * C), dxs(rows * C, 0.0f), dw(OC * C, 0.0f), rdw(OC * C, 0.0f), db(OC, 0.0f);
  for (std::int64_t r = 0; r < rows; ++r)
    std::copy(x.begin() + r * 3 * C, x.begin() + r * 3 * C + C, xs.begin() + r * C);
  Vec dx_strided(N * C, 0.0f);
  ops::matmul_backward(dx_strided.data(), dw.data(), nullptr, g.data(), x.data(), w.data(), rows, C,
                       OC, true, 3 * C);
  ref::matmul_backward(dxs.data(), rdw.data(), db.data(), g.data(), xs.data(), w.data(), rows, C,
                       OC);
  EXPECT_LT(max_abs_diff(dw, rdw), 1e-4);
  for (std::int64_t r = 0; r < N; ++r) {
    for (std::int64_t c = 0; c < C; ++c) {
      const float want = r % 3 == 0 && r / 3 < rows ? dxs[(r / 3) * C + c] : 0.0f;
      EXPECT_NEAR(dx_strided[r * C + c], want, 1e-4) << r << "," << c;
    }
  }
}

TEST_P(FastBackward, ActivationsAndTanh) {
  const std::int64_t n = 1031;
  const Vec pre = random_vec(n, 28, 3.0f), g = random_vec(n, 29);
  for (Activation act :
       {Activation::kGelu, Activation::kGeluNew, Activation::kRelu, Activation::kSilu}) {
    Vec d(n), rd(n);
    ops::activation_backward(d.data(), pre.data(), g.data(), n, act);
    ref::activation_backward(rd.data(), pre.data(), g.data(), n, act);
    EXPECT_LT(max_abs_diff(d, rd), 1e-5) << int(act);
  }
  Vec out(n), d(n), rd(n);
  ref::tanh_forward(out.data(), pre.data(), n);
  ops::tanh_backward(d.data(), out.data(), g.data(), n);
  ref::tanh_backward(rd.data(), out.data(), g.data(), n);
  EXPECT_LT(max_abs_diff(d, rd), 1e-6);
}

TEST_P(FastBackward, LayerNorm) {
  const std::int64_t N = 41, C = 133;
  const Vec x = random_vec(N * C, 30, 2.0f), w = random_vec(C, 31), b = random_vec(C, 32),
            g = random_vec(N * C, 33);
  Vec out(N * C), mean(N), rstd(N);
  ref::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C,
                         1e-12f);
  for (bool acc : {false, true}) {
    Vec dx = random_vec(N * C, 34), dw = random_vec(C, 35), db = random_vec(C, 36);
    Vec rdx = dx, rdw = dw, rdb = db;
    ops::layernorm_backward(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(),
                            mean.data(), rstd.data(), N, C, acc);
    ref::layernorm_backward(rdx.data(), rdw.data(), rdb.data(), g.data(), x.data(), w.data(),
                            mean.data(), rstd.data(), N, C, acc);
    EXPECT_LT(max_abs_diff(dx, rdx), 1e-4 * (1 + max_abs(rdx)));
    EXPECT_LT(max_abs_diff(dw, rdw), 1e-4 * (1 + max_abs(rdw)));
    EXPECT_LT(max_abs_diff(db, rdb), 1e-4 * (1 + max_abs(rdb)));
  }
}

TEST_P(FastBackward, Attention) {
  const std::int64_t B = 3, S = 13, NH = 3, d = 7, H = NH * d;
  const Vec qkv = random_vec(B * S * 3 * H, 37), g = random_vec(B * S * H, 38);
  std::vector<std::int32_t> mask(B * S, 1);
  for (std::int64_t s = 9; s < S; ++s) mask[s] = 0;
  Vec madd(B * S), ctx(B * S * H), probs(B * NH * S * S);
  ops::attention_mask_forward(madd.data(), mask.data(), B * S);
  ref::attention_forward(ctx.data(), probs.data(), qkv.data(), madd.data(), B, S, NH, d);
  Vec dqkv(qkv.size(), 1.0f), rdqkv(qkv.size()), scratch(probs.size());
  ops::attention_backward(dqkv.data(), scratch.data(), g.data(), qkv.data(), probs.data(), B, S, NH,
                          d);
  ref::attention_backward(rdqkv.data(), g.data(), qkv.data(), probs.data(), B, S, NH, d);
  EXPECT_LT(max_abs_diff(dqkv, rdqkv), 1e-5 * (1 + max_abs(rdqkv)));
  for (std::int64_t s = 9; s < S; ++s) {
    for (std::int64_t c = H; c < 3 * H; ++c) EXPECT_EQ(dqkv[s * 3 * H + c], 0.0f);
  }
}

TEST_P(FastBackward, EmbeddingsAreDeterministic) {
  const std::int64_t B = 4, S = 17, H = 131, V = 11, T = 2;
  std::vector<std::int32_t> ids(B * S), types(B * S);
  for (std::int64_t i = 0; i < B * S; ++i) {
    ids[i] = static_cast<std::int32_t>((i * 7) % V);
    types[i] = static_cast<std::int32_t>(i % T);
  }
  const Vec g = random_vec(B * S * H, 39);
  Vec dwte(V * H, 0.0f), dwpe(S * H, 0.0f), dwtt(T * H, 0.0f);
  Vec rwte = dwte, rwpe = dwpe, rwtt = dwtt;
  ops::embeddings_backward(dwte.data(), dwpe.data(), dwtt.data(), g.data(), ids.data(),
                           types.data(), B, S, H);
  ref::embeddings_backward(rwte.data(), rwpe.data(), rwtt.data(), g.data(), ids.data(),
                           types.data(), B, S, H);
  // Same order of additions per element: bit for bit.
  EXPECT_EQ(dwte, rwte);
  EXPECT_EQ(dwpe, rwpe);
  EXPECT_EQ(dwtt, rwtt);
}

INSTANTIATE_TEST_SUITE_P(Threads, FastBackward, ::testing::Values(1, 3));

}  // namespace
