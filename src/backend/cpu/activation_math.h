// Scalar definitions of the activations, shared by the fast and the reference kernels so both
// compute HF's exact formulas (torch.nn.functional.gelu, NewGELUActivation, ...).
#pragma once

#include <cmath>

#include "bertkit/config.h"

namespace bertkit::ops::detail {

inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

// gelu_new / gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

inline float activate(float x, Activation act) {
  switch (act) {
    case Activation::kGelu:
      return gelu_erf(x);
    case Activation::kGeluNew:
    case Activation::kGeluPytorchTanh:
      return gelu_tanh(x);
    case Activation::kRelu:
      return relu(x);
    case Activation::kSilu:
      return silu(x);
  }
  return x;
}

// Derivatives for the backward pass, d act / dx at the pre-activation x.
inline float gelu_erf_grad(float x) {
  const float cdf = 0.5f * (1.0f + std::erf(x * 0.70710678118654752f));
  const float pdf = 0.3989422804014327f * std::exp(-0.5f * x * x);
  return cdf + x * pdf;
}

// d/dx of 0.5 x (1 + tanh(u)), u = k (x + c x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2).
inline float gelu_tanh_grad(float x) {
  const float k = 0.7978845608028654f, c = 0.044715f;
  const float t = std::tanh(k * (x + c * x * x * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * c * x * x);
}

// torch's relu backward passes gradient only where x > 0.
inline float relu_grad(float x) { return x > 0.0f ? 1.0f : 0.0f; }
inline float silu_grad(float x) {
  const float s = 1.0f / (1.0f + std::exp(-x));
  return s * (1.0f + x * (1.0f - s));
}

inline float activate_grad(float x, Activation act) {
  switch (act) {
    case Activation::kGelu:
      return gelu_erf_grad(x);
    case Activation::kGeluNew:
    case Activation::kGeluPytorchTanh:
      return gelu_tanh_grad(x);
    case Activation::kRelu:
      return relu_grad(x);
    case Activation::kSilu:
      return silu_grad(x);
  }
  return 1.0f;
}

}  // namespace bertkit::ops::detail
