// FP exceptions are never inspected; without this GCC refuses to if-convert the selects of
// vmath (clamps, sign) and leaves the hot loops scalar. Results are unchanged.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <algorithm>
#include <cmath>

#include "backend/cpu/simd_dispatch.h"
#include "backend/cpu/vector_math.h"
#include "backend/ops.h"

namespace bertkit::ops {

namespace {

// One row of scores -> probabilities: / sqrt(d), + additive mask, softmax.
BERTKIT_SIMD_CLONES void softmax_row(float* row, const float* madd, std::int64_t S, float scale) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (std::int64_t j = 0; j < S; ++j) {
    row[j] = row[j] / scale + madd[j];
    mx = std::max(mx, row[j]);
  }
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::int64_t j = 0; j < S; ++j) {
    row[j] = vmath::exp(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (std::int64_t j = 0; j < S; ++j) row[j] *= inv;
}

}  // namespace

void attention_forward(float* ctx, float* probs, const float* qkv, const float* additive_mask,
                       std::int64_t B, std::int64_t S, std::int64_t NH, std::int64_t d) {
  const std::int64_t H = NH * d;
  const std::int64_t ld = 3 * H;
  // torch divides the scores by sqrt(d) (not a multiply by its inverse): keep the rounding.
  const float scale = std::sqrt(static_cast<float>(d));
  // One (sequence, head) per iteration; the GEMMs inside run single-threaded.
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < NH; ++h) {
      const float* q = qkv + b * S * ld + h * d;
      const float* k = q + H;
      const float* v = q + 2 * H;
      const float* madd = additive_mask + b * S;
      float* p = probs + (b * NH + h) * S * S;
      gemm(false, true, S, S, d, 1.0f, q, ld, k, ld, 0.0f, p, S);
      for (std::int64_t i = 0; i < S; ++i) softmax_row(p + i * S, madd, S, scale);
      gemm(false, false, S, d, S, 1.0f, p, S, v, ld, 0.0f, ctx + b * S * H + h * d, H);
    }
  }
}

}  // namespace bertkit::ops
