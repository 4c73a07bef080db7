// The readable definitions: one plain loop nest per op, double accumulators, no threads.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/activation_math.h"
#include "backend/ops.h"

namespace bertkit::ops::reference {

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                    std::int64_t N, std::int64_t C, std::int64_t OC) {
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t o = 0; o < OC; ++o) {
      double acc = bias ? bias[o] : 0.0;
      for (std::int64_t c = 0; c < C; ++c) acc += double(inp[n * C + c]) * weight[o * C + c];
      out[n * OC + o] = static_cast<float>(acc);
    }
  }
}

void bias_activation_forward(float* act, float* pre, const float* bias, std::int64_t N,
                             std::int64_t C, Activation activation) {
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t c = 0; c < C; ++c) {
      float& p = pre[n * C + c];
      p += bias[c];
      act[n * C + c] = detail::activate(p, activation);
    }
  }
}

void tanh_forward(float* out, const float* inp, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = std::tanh(inp[i]);
}

void embeddings_forward(float* out, const std::int32_t* input_ids,
                        const std::int32_t* token_type_ids, const float* wte, const float* wpe,
                        const float* wtt, std::int64_t B, std::int64_t S, std::int64_t H) {
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t s = 0; s < S; ++s) {
      const float* w = wte + std::int64_t(input_ids[b * S + s]) * H;
      const float* t = wtt + std::int64_t(token_type_ids[b * S + s]) * H;
      const float* p = wpe + s * H;
      float* o = out + (b * S + s) * H;
      for (std::int64_t h = 0; h < H; ++h) o[h] = (w[h] + t[h]) + p[h];
    }
  }
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, std::int64_t N, std::int64_t C, float eps) {
  for (std::int64_t n = 0; n < N; ++n) {
    const float* x = inp + n * C;
    double m = 0.0;
    for (std::int64_t c = 0; c < C; ++c) m += x[c];
    m /= double(C);
    double v = 0.0;
    for (std::int64_t c = 0; c < C; ++c) v += (x[c] - m) * (x[c] - m);
    v /= double(C);
    const double r = 1.0 / std::sqrt(v + eps);
    for (std::int64_t c = 0; c < C; ++c) {
      out[n * C + c] = static_cast<float>((x[c] - m) * r * weight[c] + bias[c]);
    }
    mean[n] = static_cast<float>(m);
    rstd[n] = static_cast<float>(r);
  }
}

void residual_layernorm_forward(float* out, float* pre, float* mean, float* rstd, const float* x,
                                const float* bias, const float* residual, const float* weight,
                                const float* ln_bias, std::int64_t N, std::int64_t C, float eps) {
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t c = 0; c < C; ++c) {
      pre[n * C + c] = (x[n * C + c] + bias[c]) + residual[n * C + c];
    }
  }
  layernorm_forward(out, mean, rstd, pre, weight, ln_bias, N, C, eps);
}

void attention_forward(float* ctx, float* probs, const float* qkv, const float* additive_mask,
                       std::int64_t B, std::int64_t S, std::int64_t NH, std::int64_t d) {
  const std::int64_t H = NH * d;
  const double scale = std::sqrt(double(d));
  std::vector<double> row(static_cast<std::size_t>(S));
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < NH; ++h) {
      float* p = probs + ((b * NH + h) * S) * S;
      for (std::int64_t i = 0; i < S; ++i) {
        const float* q = qkv + (b * S + i) * 3 * H + h * d;
        double mx = -std::numeric_limits<double>::infinity();
        for (std::int64_t j = 0; j < S; ++j) {
          const float* k = qkv + (b * S + j) * 3 * H + H + h * d;
          double dot = 0.0;
          for (std::int64_t e = 0; e < d; ++e) dot += double(q[e]) * k[e];
          // float32 like torch: the mask addition absorbs the score for masked keys.
          row[j] = double(static_cast<float>(dot / scale) + additive_mask[b * S + j]);
          mx = std::max(mx, row[j]);
        }
        double sum = 0.0;
        for (std::int64_t j = 0; j < S; ++j) sum += (row[j] = std::exp(row[j] - mx));
        for (std::int64_t j = 0; j < S; ++j) p[i * S + j] = static_cast<float>(row[j] / sum);
      }
      for (std::int64_t i = 0; i < S; ++i) {
        float* c = ctx + (b * S + i) * H + h * d;
        for (std::int64_t e = 0; e < d; ++e) {
          double acc = 0.0;
          for (std::int64_t j = 0; j < S; ++j) {
            acc += double(p[i * S + j]) * qkv[(b * S + j) * 3 * H + 2 * H + h * d + e];
          }
          c[e] = static_cast<float>(acc);
        }
      }
    }
  }
}

float cross_entropy_forward(const float* logits, const std::int64_t* labels, std::int64_t B,
                            std::int64_t C) {
  double total = 0.0;
  std::int64_t count = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    if (labels[b] == -100) continue;
    const float* l = logits + b * C;
    double mx = l[0];
    for (std::int64_t c = 1; c < C; ++c) mx = std::max(mx, double(l[c]));
    double sum = 0.0;
    for (std::int64_t c = 0; c < C; ++c) sum += std::exp(l[c] - mx);
    total += std::log(sum) + mx - l[labels[b]];
    ++count;
  }
  return count ? static_cast<float>(total / double(count)) : 0.0f;
}

}  // namespace bertkit::ops::reference
