// torch.nn.utils.clip_grad_norm_ (torch 1.13, norm_type 2):
//   total_norm = torch.norm(torch.stack([torch.norm(g, 2) for g in grads]), 2)
//   clip_coef = max_norm / (total_norm + 1e-6)      # Tensor.__rdiv__: reciprocal() * max_norm
//   grads *= clamp(clip_coef, max=1.0)
// in float32 throughout. Each norm follows ATen's vectorised 2-norm over a contiguous tensor: 8
// float lanes accumulate x*x (an AVX2 vector), the lanes are summed in order, then the tail.
// Compiled with -ffp-contract=off (CMakeLists.txt): an FMA would change the rounding.

#include <cmath>
#include <string>

#include "bertkit/error.h"
#include "bertkit/optimization.h"

namespace bertkit {

namespace {

constexpr int kLanes = 8;

void check_slices(std::size_t arena, const std::vector<ParameterSlice>& slices) {
  for (const auto& slice : slices) {
    if (slice.offset < 0 || slice.numel < 0 ||
        static_cast<std::size_t>(slice.offset + slice.numel) > arena) {
      throw InvalidArgument("clip_grad_norm: parameter '" + slice.name + "' lies outside the " +
                            std::to_string(arena) + "-float gradient arena");
    }
  }
}

std::vector<float> slice_norms(std::span<const float> grads,
                               const std::vector<ParameterSlice>& slices) {
  check_slices(grads.size(), slices);
  std::vector<float> norms(slices.size(), 0.0f);
  const auto count = static_cast<std::int64_t>(slices.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1 && grads.size() > (1u << 16))
  for (std::int64_t i = 0; i < count; ++i) {
    const auto& s = slices[static_cast<std::size_t>(i)];
    norms[static_cast<std::size_t>(i)] = float32_l2_norm(
        grads.subspan(static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.numel)));
  }
  return norms;
}

float total_norm_of(std::span<const float> grads, const std::vector<ParameterSlice>& slices) {
  const std::vector<float> norms = slice_norms(grads, slices);
  const float total = float32_l2_norm(norms);
  if (!std::isfinite(total)) {
    std::string culprit;
    for (std::size_t i = 0; i < norms.size(); ++i) {
      if (!std::isfinite(norms[i])) {
        culprit = " (first non-finite gradient: '" + slices[i].name + "')";
        break;
      }
    }
    throw NonFiniteError("the gradient norm is " +
                         std::string(std::isnan(total) ? "NaN" : "infinite") + culprit +
                         "; training stopped (lower the learning rate or check the data)");
  }
  return total;
}

}  // namespace

float float32_l2_norm(std::span<const float> values) {
  float acc[kLanes] = {};
  const std::size_t n = values.size();
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float x = values[i + static_cast<std::size_t>(j)];
      acc[j] = acc[j] + x * x;
    }
  }
  float sum = acc[0];
  for (int j = 1; j < kLanes; ++j) sum = sum + acc[j];
  for (; i < n; ++i) sum = sum + values[i] * values[i];
  return std::sqrt(sum);
}

float grad_norm(std::span<const float> grads, const std::vector<ParameterSlice>& slices) {
  return total_norm_of(grads, slices);
}

float clip_grad_norm(std::span<float> grads, const std::vector<ParameterSlice>& slices,
                     double max_norm) {
  if (!(max_norm > 0) || !std::isfinite(max_norm)) {
    throw InvalidArgument("clip_grad_norm: max_norm must be a positive number, got " +
                          std::to_string(max_norm));
  }
  const float total = total_norm_of(grads, slices);
  const float reciprocal = 1.0f / (total + static_cast<float>(1e-6));
  const float coef = reciprocal * static_cast<float>(max_norm);
  if (coef < 1.0f) {
    float* g = grads.data();
    const auto count = static_cast<std::int64_t>(slices.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1 && grads.size() > (1u << 16))
    for (std::int64_t k = 0; k < count; ++k) {
      const auto& s = slices[static_cast<std::size_t>(k)];
      for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) g[i] = g[i] * coef;
    }
  }
  return total;
}

}  // namespace bertkit
