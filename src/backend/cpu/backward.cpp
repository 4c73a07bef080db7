// The fast backward kernels. Parameter gradients accumulate (+=) so one arena can collect a whole
// backward pass (and gradient accumulation over micro-batches). Every reduction over rows splits
// the columns between threads and walks the rows in order: the sums do not depend on the thread
// count.

// FP exceptions are never inspected; without this GCC refuses to if-convert the selects of
// vmath (clamps, sign) and leaves the hot loops scalar. Results are unchanged.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/activation_math.h"
#include "backend/cpu/simd_dispatch.h"
#include "backend/cpu/vector_math.h"
#include "backend/ops.h"

namespace bertkit::ops {

namespace {

constexpr std::int64_t kColumnBlock = 64;

// sums[c] += sum_n term(n, c) for c < C: column blocks in parallel, rows in order.
template <class Term>
void add_column_sums(float* sums, std::int64_t N, std::int64_t C, Term term) {
  const std::int64_t blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static)
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const std::int64_t c0 = blk * kColumnBlock, c1 = std::min(C, c0 + kColumnBlock);
    float acc[kColumnBlock] = {};
    for (std::int64_t n = 0; n < N; ++n) {
#pragma omp simd
      for (std::int64_t c = c0; c < c1; ++c) acc[c - c0] += term(n, c);
    }
    for (std::int64_t c = c0; c < c1; ++c) sums[c] += acc[c - c0];
  }
}

// sums[c] += sum_n rows[n * ld + c].
void add_column_sums(float* sums, const float* rows, std::int64_t N, std::int64_t C,
                     std::int64_t ld) {
  add_column_sums(sums, N, C,
                  [rows, ld](std::int64_t n, std::int64_t c) { return rows[n * ld + c]; });
}

// d gelu(x) / dx = Phi(x) + x phi(x), as PyTorch's vectorised GeluBackward computes it (its erf
// is the same approximation as vmath::erf).
BERTKIT_SIMD_CLONES void gelu_backward_span(float* dinp, const float* pre, const float* dout,
                                            std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    const float x = pre[i];
    const float cdf = 0.5f * (1.0f + vmath::erf(x * 0.70710678118654752f));
    const float pdf = 0.3989422804014327f * vmath::exp(-0.5f * x * x);
    dinp[i] = dout[i] * (cdf + x * pdf);
  }
}

}  // namespace

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, std::int64_t N, std::int64_t C, std::int64_t OC,
                     bool accumulate_dinp, std::int64_t ldi) {
  if (ldi == 0) ldi = C;
  if (dinp)
    gemm(false, false, N, C, OC, 1.0f, dout, OC, weight, C, accumulate_dinp ? 1.0f : 0.0f, dinp,
         ldi);
  if (dweight) gemm(true, false, OC, C, N, 1.0f, dout, OC, inp, ldi, 1.0f, dweight, C);
  if (dbias) add_column_sums(dbias, dout, N, OC, OC);
}

void activation_backward(float* dinp, const float* pre, const float* dout, std::int64_t n,
                         Activation activation) {
  if (activation == Activation::kGelu) {
    constexpr std::int64_t kChunk = 4096;
#pragma omp parallel for schedule(static)
    for (std::int64_t start = 0; start < n; start += kChunk)
      gelu_backward_span(dinp + start, pre + start, dout + start, std::min(kChunk, n - start));
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i)
    dinp[i] = dout[i] * detail::activate_grad(pre[i], activation);
}

void tanh_backward(float* dinp, const float* out, const float* dout, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}

// With xhat = (x - mean) rstd and g = dout * weight:
//   dx = rstd (g - mean(g) - xhat mean(g xhat))
// (the two means are the gradients through the mean and through rstd of the row).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        std::int64_t N, std::int64_t C, bool accumulate_dinp) {
  if (dinp) {
#pragma omp parallel for schedule(static)
    for (std::int64_t n = 0; n < N; ++n) {
      const float* x = inp + n * C;
      const float* g = dout + n * C;
      const float m = mean[n], r = rstd[n];
      float sum_g = 0.0f, sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
      for (std::int64_t c = 0; c < C; ++c) {
        const float gw = g[c] * weight[c];
        sum_g += gw;
        sum_gx += gw * (x[c] - m) * r;
      }
      const float mg = sum_g / static_cast<float>(C), mgx = sum_gx / static_cast<float>(C);
      float* d = dinp + n * C;
      if (accumulate_dinp) {
#pragma omp simd
        for (std::int64_t c = 0; c < C; ++c)
          d[c] += r * (g[c] * weight[c] - mg - (x[c] - m) * r * mgx);
      } else {
#pragma omp simd
        for (std::int64_t c = 0; c < C; ++c)
          d[c] = r * (g[c] * weight[c] - mg - (x[c] - m) * r * mgx);
      }
    }
  }
  if (dbias) add_column_sums(dbias, dout, N, C, C);
  if (dweight) {
    add_column_sums(dweight, N, C, [=](std::int64_t n, std::int64_t c) {
      return dout[n * C + c] * ((inp[n * C + c] - mean[n]) * rstd[n]);
    });
  }
}

// Per (sequence, head), with P the probabilities and dC the context gradient:
//   dV = P^T dC, dP = dC V^T, dScores = P * (dP - rowsum(P * dP)) (softmax backward; the additive
//   mask is a constant, and P = 0 exactly at masked keys, so they get 0), dQ = dScores K / sqrt(d),
//   dK = dScores^T Q / sqrt(d).
void attention_backward(float* dqkv, float* dprobs, const float* dctx, const float* qkv,
                        const float* probs, std::int64_t B, std::int64_t S, std::int64_t NH,
                        std::int64_t d, const float* probs_dropped, const std::uint8_t* keep,
                        float p_drop) {
  const std::int64_t H = NH * d, ld = 3 * H;
  const float scale = std::sqrt(static_cast<float>(d));
  const float keep_scale = 1.0f / (1.0f - p_drop);
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < NH; ++h) {
      const float* q = qkv + b * S * ld + h * d;
      const float* k = q + H;
      const float* v = q + 2 * H;
      float* dq = dqkv + b * S * ld + h * d;
      float* dk = dq + H;
      float* dv = dq + 2 * H;
      const float* dc = dctx + b * S * H + h * d;
      const float* p = probs + (b * NH + h) * S * S;
      float* dp = dprobs + (b * NH + h) * S * S;
      // V met the dropped probabilities; the softmax backward then needs d(undropped probs).
      const float* pv = probs_dropped ? probs_dropped + (b * NH + h) * S * S : p;
      gemm(true, false, S, d, S, 1.0f, pv, S, dc, H, 0.0f, dv, ld);
      gemm(false, true, S, S, d, 1.0f, dc, H, v, ld, 0.0f, dp, S);
      if (keep) {
        const std::uint8_t* k8 = keep + (b * NH + h) * S * S;
        for (std::int64_t i = 0; i < S * S; ++i) dp[i] = k8[i] ? dp[i] * keep_scale : 0.0f;
      }
      for (std::int64_t i = 0; i < S; ++i) {
        const float* pr = p + i * S;
        float* dr = dp + i * S;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (std::int64_t j = 0; j < S; ++j) dot += pr[j] * dr[j];
#pragma omp simd
        for (std::int64_t j = 0; j < S; ++j) dr[j] = pr[j] * (dr[j] - dot) / scale;
      }
      gemm(false, false, S, d, S, 1.0f, dp, S, k, ld, 0.0f, dq, ld);
      gemm(true, false, S, d, S, 1.0f, dp, S, q, ld, 0.0f, dk, ld);
    }
  }
}

void embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                         const std::int32_t* input_ids, const std::int32_t* token_type_ids,
                         std::int64_t B, std::int64_t S, std::int64_t H) {
  const std::int64_t blocks = (H + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static)
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const std::int64_t c0 = blk * kColumnBlock, c1 = std::min(H, c0 + kColumnBlock);
    for (std::int64_t b = 0; b < B; ++b) {
      for (std::int64_t s = 0; s < S; ++s) {
        const float* g = dout + (b * S + s) * H;
        float* w = dwte ? dwte + std::int64_t(input_ids[b * S + s]) * H : nullptr;
        float* t = dwtt ? dwtt + std::int64_t(token_type_ids[b * S + s]) * H : nullptr;
        float* p = dwpe ? dwpe + s * H : nullptr;
        for (std::int64_t c = c0; c < c1; ++c) {
          if (w) w[c] += g[c];
          if (t) t[c] += g[c];
          if (p) p[c] += g[c];
        }
      }
    }
  }
}

void cross_entropy_backward(float* dlogits, const float* logits, const std::int64_t* labels,
                            std::int64_t B, std::int64_t C) {
  std::int64_t count = 0;
  for (std::int64_t b = 0; b < B; ++b) count += labels[b] != -100;
  softmax_forward(dlogits, logits, B, C);
  const float inv = count ? 1.0f / static_cast<float>(count) : 0.0f;
  for (std::int64_t b = 0; b < B; ++b) {
    float* d = dlogits + b * C;
    if (labels[b] == -100) {
      std::fill(d, d + C, 0.0f);
      continue;
    }
    d[labels[b]] -= 1.0f;
    for (std::int64_t c = 0; c < C; ++c) d[c] *= inv;
  }
}

float mse_forward(const float* pred, const float* target, std::int64_t B) {
  double sum = 0.0;
  for (std::int64_t b = 0; b < B; ++b) {
    const double e = double(pred[b]) - target[b];
    sum += e * e;
  }
  return B ? static_cast<float>(sum / double(B)) : 0.0f;
}

void mse_backward(float* dpred, const float* pred, const float* target, std::int64_t B) {
  for (std::int64_t b = 0; b < B; ++b) dpred[b] = 2.0f * (pred[b] - target[b]) / float(B);
}

}  // namespace bertkit::ops
