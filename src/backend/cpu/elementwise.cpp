// FP exceptions are never inspected; without this GCC refuses to if-convert the selects of
// vmath (clamps, sign) and leaves the hot loops scalar. Results are unchanged.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/activation_math.h"
#include "backend/cpu/simd_dispatch.h"
#include "backend/cpu/vector_math.h"
#include "backend/ops.h"

namespace bertkit::ops {

namespace {

template <class F>
void bias_act_rows(float* act, float* pre, const float* bias, std::int64_t N, std::int64_t C, F f) {
#pragma omp parallel for schedule(static)
  for (std::int64_t n = 0; n < N; ++n) {
    float* p = pre + n * C;
    float* a = act + n * C;
#pragma omp simd
    for (std::int64_t c = 0; c < C; ++c) {
      p[c] += bias[c];
      a[c] = f(p[c]);
    }
  }
}

// The erf GELU of BERT, vectorised (vmath::erf, as PyTorch's own vectorised GELU does).
BERTKIT_SIMD_CLONES void bias_gelu_row(float* a, float* p, const float* bias, std::int64_t C) {
#pragma omp simd
  for (std::int64_t c = 0; c < C; ++c) {
    const float x = p[c] + bias[c];
    p[c] = x;
    a[c] = 0.5f * x * (1.0f + vmath::erf(x * 0.70710678118654752f));
  }
}

BERTKIT_SIMD_CLONES void tanh_span(float* out, const float* inp, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) out[i] = vmath::tanh(inp[i]);
}

template <class F>
void map(float* out, const float* inp, std::int64_t n, F f) {
#pragma omp parallel for simd schedule(static)
  for (std::int64_t i = 0; i < n; ++i) out[i] = f(inp[i]);
}

}  // namespace

void bias_activation_forward(float* act, float* pre, const float* bias, std::int64_t N,
                             std::int64_t C, Activation activation) {
  switch (activation) {
    case Activation::kGelu: {
#pragma omp parallel for schedule(static)
      for (std::int64_t n = 0; n < N; ++n) bias_gelu_row(act + n * C, pre + n * C, bias, C);
      return;
    }
    case Activation::kGeluNew:
    case Activation::kGeluPytorchTanh:
      return bias_act_rows(act, pre, bias, N, C, detail::gelu_tanh);
    case Activation::kRelu:
      return bias_act_rows(act, pre, bias, N, C, detail::relu);
    case Activation::kSilu:
      return bias_act_rows(act, pre, bias, N, C, detail::silu);
  }
}

void activation_forward(float* out, const float* inp, std::int64_t n, Activation activation) {
  switch (activation) {
    case Activation::kGelu:
      return map(out, inp, n, detail::gelu_erf);
    case Activation::kGeluNew:
    case Activation::kGeluPytorchTanh:
      return map(out, inp, n, detail::gelu_tanh);
    case Activation::kRelu:
      return map(out, inp, n, detail::relu);
    case Activation::kSilu:
      return map(out, inp, n, detail::silu);
  }
}

void tanh_forward(float* out, const float* inp, std::int64_t n) { tanh_span(out, inp, n); }

void embeddings_forward(float* out, const std::int32_t* input_ids,
                        const std::int32_t* token_type_ids, const float* wte, const float* wpe,
                        const float* wtt, std::int64_t B, std::int64_t S, std::int64_t H) {
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t s = 0; s < S; ++s) {
      const float* w = wte + std::int64_t(input_ids[b * S + s]) * H;
      const float* t = wtt + std::int64_t(token_type_ids[b * S + s]) * H;
      const float* p = wpe + s * H;
      float* o = out + (b * S + s) * H;
#pragma omp simd
      for (std::int64_t h = 0; h < H; ++h) o[h] = (w[h] + t[h]) + p[h];
    }
  }
}

void attention_mask_forward(float* additive, const std::int32_t* mask, std::int64_t n) {
  const float lowest = std::numeric_limits<float>::lowest();
  for (std::int64_t i = 0; i < n; ++i) additive[i] = (1.0f - static_cast<float>(mask[i])) * lowest;
}

void softmax_forward(float* probs, const float* logits, std::int64_t B, std::int64_t C) {
  for (std::int64_t b = 0; b < B; ++b) {
    const float* l = logits + b * C;
    float* p = probs + b * C;
    const float mx = *std::max_element(l, l + C);
    float sum = 0.0f;
    for (std::int64_t c = 0; c < C; ++c) sum += (p[c] = std::exp(l[c] - mx));
    for (std::int64_t c = 0; c < C; ++c) p[c] /= sum;
  }
}

float cross_entropy_forward(const float* logits, const std::int64_t* labels, std::int64_t B,
                            std::int64_t C) {
  // Few rows: a serial loop in double is exact enough and cheaper than threading.
  double total = 0.0;
  std::int64_t count = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    if (labels[b] == -100) continue;
    const float* l = logits + b * C;
    const float mx = *std::max_element(l, l + C);
    double sum = 0.0;
    for (std::int64_t c = 0; c < C; ++c) sum += std::exp(double(l[c]) - mx);
    total += std::log(sum) + mx - l[labels[b]];
    ++count;
  }
  return count ? static_cast<float>(total / double(count)) : 0.0f;
}

}  // namespace bertkit::ops
