// Training-mode dropout. The mask of element i is a pure function of (seed, stream, i) --
// SplitMix64 of a combined counter -- so masks are reproducible on any thread count and the
// training step can be re-run with the same masks (finite-difference checks).
#include <algorithm>
#include <cmath>

#include "backend/cpu/simd_dispatch.h"
#include "backend/ops.h"

namespace bertkit::ops {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// keep[i] for i in [first, first + n): element i's 24-bit uniform against the threshold.
BERTKIT_SIMD_CLONES void mask_span(std::uint8_t* keep, std::int64_t first, std::int64_t n,
                                   std::uint64_t base, std::uint64_t threshold) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i)
    keep[i] = (splitmix64(base + std::uint64_t(first + i)) >> 40) >= threshold ? 1 : 0;
}

}  // namespace

void dropout_mask(std::uint8_t* keep, std::int64_t n, float p, std::uint64_t seed,
                  std::uint64_t stream) {
  const std::uint64_t base = splitmix64(seed ^ splitmix64(stream));
  // Uniform u = k / 2^24 from the top 24 bits k, kept when u >= p as torch's bernoulli_(1 - p)
  // compares; in integers: k >= ceil(p 2^24) (exact: p 2^24 is a double of a float).
  const auto threshold = static_cast<std::uint64_t>(std::ceil(double(p) * 16777216.0));
  constexpr std::int64_t kChunk = 4096;
#pragma omp parallel for schedule(static)
  for (std::int64_t start = 0; start < n; start += kChunk)
    mask_span(keep + start, start, std::min(kChunk, n - start), base, threshold);
}

void dropout_apply(float* out, const float* inp, const std::uint8_t* keep, std::int64_t n,
                   float p) {
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) out[i] = keep[i] ? inp[i] * scale : 0.0f;
}

void bias_dropout_forward(float* x, const float* bias, const std::uint8_t* keep, std::int64_t N,
                          std::int64_t C, float p) {
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t c = 0; c < C; ++c) {
      const std::int64_t i = n * C + c;
      x[i] = keep[i] ? (x[i] + bias[c]) * scale : 0.0f;
    }
  }
}

void attention_context_forward(float* ctx, const float* probs, const float* qkv, std::int64_t B,
                               std::int64_t S, std::int64_t NH, std::int64_t d) {
  const std::int64_t H = NH * d, ld = 3 * H;
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < NH; ++h) {
      gemm(false, false, S, d, S, 1.0f, probs + (b * NH + h) * S * S, S,
           qkv + b * S * ld + 2 * H + h * d, ld, 0.0f, ctx + b * S * H + h * d, H);
    }
  }
}

}  // namespace bertkit::ops
