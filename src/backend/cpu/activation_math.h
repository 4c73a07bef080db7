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

}  // namespace bertkit::ops::detail
