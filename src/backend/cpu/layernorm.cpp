#include <cmath>

#include "backend/cpu/simd_dispatch.h"
#include "backend/ops.h"

namespace bertkit::ops {

namespace {

// Two-pass mean / variance (no cancellation), biased variance like torch.
BERTKIT_SIMD_CLONES void layernorm_row(float* out, float* mean, float* rstd, const float* x,
                                       const float* w, const float* b, std::int64_t C, float eps) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::int64_t c = 0; c < C; ++c) sum += x[c];
  const float m = sum / static_cast<float>(C);
  float var = 0.0f;
#pragma omp simd reduction(+ : var)
  for (std::int64_t c = 0; c < C; ++c) var += (x[c] - m) * (x[c] - m);
  const float r = 1.0f / std::sqrt(var / static_cast<float>(C) + eps);
#pragma omp simd
  for (std::int64_t c = 0; c < C; ++c) out[c] = (x[c] - m) * r * w[c] + b[c];
  *mean = m;
  *rstd = r;
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, std::int64_t N, std::int64_t C, float eps) {
#pragma omp parallel for schedule(static)
  for (std::int64_t n = 0; n < N; ++n) {
    layernorm_row(out + n * C, mean + n, rstd + n, inp + n * C, weight, bias, C, eps);
  }
}

void residual_layernorm_forward(float* out, float* pre, float* mean, float* rstd, const float* x,
                                const float* bias, const float* residual, const float* weight,
                                const float* ln_bias, std::int64_t N, std::int64_t C, float eps) {
#pragma omp parallel for schedule(static)
  for (std::int64_t n = 0; n < N; ++n) {
    float* p = pre + n * C;
    const float* xr = x + n * C;
    const float* rr = residual + n * C;
#pragma omp simd
    for (std::int64_t c = 0; c < C; ++c) p[c] = (xr[c] + bias[c]) + rr[c];
    layernorm_row(out + n * C, mean + n, rstd + n, p, weight, ln_bias, C, eps);
  }
}

}  // namespace bertkit::ops
