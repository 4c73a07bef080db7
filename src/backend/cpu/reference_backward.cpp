// Plain-loop definitions of the backward kernels (double accumulators, no threads). Tests only.
#include <cmath>
#include <vector>

#include "backend/ops.h"

namespace bertkit::ops::reference {

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, std::int64_t N, std::int64_t C, std::int64_t OC,
                     bool accumulate_dinp) {
  if (dinp) {
    for (std::int64_t n = 0; n < N; ++n) {
      for (std::int64_t c = 0; c < C; ++c) {
        double acc = accumulate_dinp ? dinp[n * C + c] : 0.0;
        for (std::int64_t o = 0; o < OC; ++o) acc += double(dout[n * OC + o]) * weight[o * C + c];
        dinp[n * C + c] = static_cast<float>(acc);
      }
    }
  }
  for (std::int64_t o = 0; o < OC; ++o) {
    if (dweight) {
      for (std::int64_t c = 0; c < C; ++c) {
        double acc = dweight[o * C + c];
        for (std::int64_t n = 0; n < N; ++n) acc += double(dout[n * OC + o]) * inp[n * C + c];
        dweight[o * C + c] = static_cast<float>(acc);
      }
    }
    if (dbias) {
      double acc = dbias[o];
      for (std::int64_t n = 0; n < N; ++n) acc += dout[n * OC + o];
      dbias[o] = static_cast<float>(acc);
    }
  }
}

double activation_derivative(double x, Activation activation) {
  switch (activation) {
    case Activation::kGelu:
      return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) +
             x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
    case Activation::kGeluNew:
    case Activation::kGeluPytorchTanh: {
      const double k = std::sqrt(2.0 / M_PI), c = 0.044715;
      const double t = std::tanh(k * (x + c * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * c * x * x);
    }
    case Activation::kRelu:
      return x > 0.0 ? 1.0 : 0.0;
    case Activation::kSilu: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 + x * (1.0 - s));
    }
  }
  return 1.0;
}

void activation_backward(float* dinp, const float* pre, const float* dout, std::int64_t n,
                         Activation activation) {
  for (std::int64_t i = 0; i < n; ++i) {
    dinp[i] = static_cast<float>(dout[i] * activation_derivative(pre[i], activation));
  }
}

void tanh_backward(float* dinp, const float* out, const float* dout, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    dinp[i] = static_cast<float>(dout[i] * (1.0 - double(out[i]) * out[i]));
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        std::int64_t N, std::int64_t C, bool accumulate_dinp) {
  std::vector<double> dw(C, 0.0), db(C, 0.0);
  for (std::int64_t n = 0; n < N; ++n) {
    const double m = mean[n], r = rstd[n];
    double mg = 0.0, mgx = 0.0;
    for (std::int64_t c = 0; c < C; ++c) {
      const double xhat = (inp[n * C + c] - m) * r;
      const double g = double(dout[n * C + c]) * weight[c];
      mg += g;
      mgx += g * xhat;
      dw[c] += dout[n * C + c] * xhat;
      db[c] += dout[n * C + c];
    }
    mg /= double(C);
    mgx /= double(C);
    if (!dinp) continue;
    for (std::int64_t c = 0; c < C; ++c) {
      const double xhat = (inp[n * C + c] - m) * r;
      const double g = double(dout[n * C + c]) * weight[c];
      const double d = r * (g - mg - xhat * mgx);
      dinp[n * C + c] = static_cast<float>(accumulate_dinp ? dinp[n * C + c] + d : d);
    }
  }
  for (std::int64_t c = 0; c < C; ++c) {
    if (dweight) dweight[c] = static_cast<float>(dweight[c] + dw[c]);
    if (dbias) dbias[c] = static_cast<float>(dbias[c] + db[c]);
  }
}

void attention_backward(float* dqkv, const float* dctx, const float* qkv, const float* probs,
                        std::int64_t B, std::int64_t S, std::int64_t NH, std::int64_t d,
                        const float* probs_dropped, const std::uint8_t* keep, float p_drop) {
  const std::int64_t H = NH * d;
  const double scale = std::sqrt(double(d));
  std::vector<double> ds(static_cast<std::size_t>(S * S));
  auto at = [&](std::int64_t b, std::int64_t s, std::int64_t part, std::int64_t h) {
    return (b * S + s) * 3 * H + part * H + h * d;
  };
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < NH; ++h) {
      const float* p = probs + (b * NH + h) * S * S;
      const float* pv = probs_dropped ? probs_dropped + (b * NH + h) * S * S : p;
      const std::uint8_t* k8 = keep ? keep + (b * NH + h) * S * S : nullptr;
      const double keep_scale = 1.0 / (1.0 - double(p_drop));
      for (std::int64_t i = 0; i < S; ++i) {
        const float* dc = dctx + (b * S + i) * H + h * d;
        double dot = 0.0;
        for (std::int64_t j = 0; j < S; ++j) {
          double dp = 0.0;
          for (std::int64_t e = 0; e < d; ++e) dp += double(dc[e]) * qkv[at(b, j, 2, h) + e];
          if (k8) dp = k8[i * S + j] ? dp * keep_scale : 0.0;
          ds[i * S + j] = dp;
          dot += double(p[i * S + j]) * dp;
        }
        for (std::int64_t j = 0; j < S; ++j)
          ds[i * S + j] = p[i * S + j] * (ds[i * S + j] - dot) / scale;
      }
      for (std::int64_t j = 0; j < S; ++j) {
        for (std::int64_t e = 0; e < d; ++e) {
          double dq = 0.0, dk = 0.0, dv = 0.0;
          for (std::int64_t i = 0; i < S; ++i) {
            dq += ds[j * S + i] * qkv[at(b, i, 1, h) + e];
            dk += ds[i * S + j] * qkv[at(b, i, 0, h) + e];
            dv += double(pv[i * S + j]) * dctx[(b * S + i) * H + h * d + e];
          }
          dqkv[at(b, j, 0, h) + e] = static_cast<float>(dq);
          dqkv[at(b, j, 1, h) + e] = static_cast<float>(dk);
          dqkv[at(b, j, 2, h) + e] = static_cast<float>(dv);
        }
      }
    }
  }
}

void embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                         const std::int32_t* input_ids, const std::int32_t* token_type_ids,
                         std::int64_t B, std::int64_t S, std::int64_t H) {
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t s = 0; s < S; ++s) {
      const float* g = dout + (b * S + s) * H;
      for (std::int64_t h = 0; h < H; ++h) {
        if (dwte) dwte[std::int64_t(input_ids[b * S + s]) * H + h] += g[h];
        if (dwtt) dwtt[std::int64_t(token_type_ids[b * S + s]) * H + h] += g[h];
        if (dwpe) dwpe[s * H + h] += g[h];
      }
    }
  }
}

void cross_entropy_backward(float* dlogits, const float* logits, const std::int64_t* labels,
                            std::int64_t B, std::int64_t C) {
  std::int64_t count = 0;
  for (std::int64_t b = 0; b < B; ++b) count += labels[b] != -100;
  for (std::int64_t b = 0; b < B; ++b) {
    const float* l = logits + b * C;
    double mx = l[0], sum = 0.0;
    for (std::int64_t c = 1; c < C; ++c) mx = std::max(mx, double(l[c]));
    for (std::int64_t c = 0; c < C; ++c) sum += std::exp(l[c] - mx);
    for (std::int64_t c = 0; c < C; ++c) {
      const double g = labels[b] == -100
                           ? 0.0
                           : (std::exp(l[c] - mx) / sum - (c == labels[b] ? 1.0 : 0.0)) / count;
      dlogits[b * C + c] = static_cast<float>(g);
    }
  }
}

}  // namespace bertkit::ops::reference
