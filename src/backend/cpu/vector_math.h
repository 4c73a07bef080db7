// exp / erf / tanh written as branch-free float arithmetic so `#pragma omp simd` loops using
// them vectorise (glibc's expf/erff calls do not). Accuracy: exp within ~2 ulp over the float
// range (Cephes' expf polynomial); erf within 5e-7 absolute in float (Abramowitz & Stegun 7.1.26 --
// the same approximation PyTorch's vectorised CPU erf, hence its GELU, uses).
#pragma once

#include <cstdint>
#include <cstring>

namespace bertkit::ops::vmath {

inline float exp(float x) {
  // Below -87.3 the result would be subnormal: 0, so that masked attention scores (about
  // -3.4e38) give exactly 0 as torch's exp does. Above 88 the exponent bit trick would
  // overflow; callers only need x <= 0 or saturating results there.
  const bool underflow = x < -87.33654f;
  x = underflow ? -87.33654f : x;
  x = x > 88.0f ? 88.0f : x;
  // Round to nearest by adding and removing 1.5 * 2^23 (no floorf call: stays vectorisable).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n by building the float exponent; n in [-126, 127] after the clamp.
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float result = p * scale;
  return underflow ? 0.0f : result;
}

inline float erf(float x) {
  const float ax = __builtin_fabsf(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float r = 1.061405429f;
  r = r * t - 1.453152027f;
  r = r * t + 1.421413741f;
  r = r * t - 0.284496736f;
  r = r * t + 0.254829592f;
  const float y = 1.0f - r * t * exp(-ax * ax);
  return __builtin_copysignf(y, x);
}

inline float tanh(float x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); for |x| < 0.004 use x - x^3/3 (avoids cancellation).
  const float e = exp(2.0f * x);
  const float big = 1.0f - 2.0f / (e + 1.0f);
  const float small = x - x * x * x * (1.0f / 3.0f);
  return (x < 0.004f && x > -0.004f) ? small : big;
}

}  // namespace bertkit::ops::vmath
