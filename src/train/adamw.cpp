// torch.optim.AdamW, torch 1.13 `_single_tensor_adamw` (foreach=False, amsgrad=False):
//
//   step += 1
//   param.mul_(1 - lr * weight_decay)
//   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
//   bias_correction1 = 1 - beta1 ** step;  bias_correction2 = 1 - beta2 ** step   (Python doubles)
//   step_size = lr / bias_correction1
//   denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)
//
// Each scalar is rounded to float32 where ATen casts it, and each element follows the ATen CPU
// kernels' float32 expressions: add_ with alpha is vec::fmadd(grad, alpha, exp_avg) (one fused
// rounding, as torch's AVX2/AVX512 kernels do), addcmul_ is self + (value * t1) * t2, addcdiv_ is
// self + (value * t1) / t2. Contraction into FMAs elsewhere would change the rounding, so this
// file is compiled with -ffp-contract=off (CMakeLists.txt; GCC and clang alike); the fused step
// uses std::fma, so every machine computes the same bits.

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

#include "bertkit/error.h"
#include "bertkit/optimization.h"
#include "bertkit/serialization.h"
#include "bertkit/training_logs.h"
#include "train/adamw_dispatch.h"
#include "train/python_json.h"

namespace bertkit {

namespace {

struct StepConstants {
  float decay;  // 1 - lr * weight_decay
  float beta1;
  float one_minus_beta1;
  float beta2;
  float one_minus_beta2;
  float bias_correction2_sqrt;
  float eps;
  float neg_step_size;
};

[[gnu::always_inline]] inline void adamw_elements(float* __restrict p, const float* __restrict g,
                                                  float* __restrict m, float* __restrict v,
                                                  std::int64_t n, const StepConstants& c) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float param = p[i] * c.decay;
    const float avg = std::fma(g[i], c.one_minus_beta1, m[i] * c.beta1);
    const float avg_sq = v[i] * c.beta2 + (c.one_minus_beta2 * g[i]) * g[i];
    const float denom = std::sqrt(avg_sq) / c.bias_correction2_sqrt + c.eps;
    p[i] = param + (c.neg_step_size * avg) / denom;
    m[i] = avg;
    v[i] = avg_sq;
  }
}

// The same expressions eight lanes at a time (GCC will not vectorise std::sqrt while it may set
// errno); every intrinsic rounds exactly as its scalar counterpart, so the bits agree.
[[gnu::target("avx2,fma")]] void adamw_elements_avx2(float* p, const float* g, float* m, float* v,
                                                     std::int64_t n, const StepConstants& c) {
  const __m256 decay = _mm256_set1_ps(c.decay);
  const __m256 beta1 = _mm256_set1_ps(c.beta1);
  const __m256 one_minus_beta1 = _mm256_set1_ps(c.one_minus_beta1);
  const __m256 beta2 = _mm256_set1_ps(c.beta2);
  const __m256 one_minus_beta2 = _mm256_set1_ps(c.one_minus_beta2);
  const __m256 bc2_sqrt = _mm256_set1_ps(c.bias_correction2_sqrt);
  const __m256 eps = _mm256_set1_ps(c.eps);
  const __m256 neg_step_size = _mm256_set1_ps(c.neg_step_size);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 grad = _mm256_loadu_ps(g + i);
    const __m256 param = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
    const __m256 avg =
        _mm256_fmadd_ps(grad, one_minus_beta1, _mm256_mul_ps(_mm256_loadu_ps(m + i), beta1));
    const __m256 avg_sq = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), beta2),
                                        _mm256_mul_ps(_mm256_mul_ps(one_minus_beta2, grad), grad));
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(avg_sq), bc2_sqrt), eps);
    _mm256_storeu_ps(p + i,
                     _mm256_add_ps(param, _mm256_div_ps(_mm256_mul_ps(neg_step_size, avg), denom)));
    _mm256_storeu_ps(m + i, avg);
    _mm256_storeu_ps(v + i, avg_sq);
  }
  adamw_elements(p + i, g + i, m + i, v + i, n - i, c);
}

void adamw_elements_portable(float* p, const float* g, float* m, float* v, std::int64_t n,
                             const StepConstants& c) {
  adamw_elements(p, g, m, v, n, c);
}

std::atomic<bool> g_force_portable{false};

bool has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes && !g_force_portable.load(std::memory_order_relaxed);
}

// Work items small enough to spread over threads, large enough to amortise the dispatch.
constexpr std::int64_t kChunk = 1 << 15;

}  // namespace

void train::force_portable_adamw(bool on) { g_force_portable.store(on); }

AdamW::AdamW(std::vector<ParamGroup> groups, std::int64_t arena_size, AdamWOptions options)
    : groups_(std::move(groups)), arena_size_(arena_size), options_(options) {
  if (arena_size < 0) throw InvalidArgument("AdamW: negative arena size");
  if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1)) {
    throw InvalidArgument("AdamW: betas must lie in [0, 1), got (" + std::to_string(options.beta1) +
                          ", " + std::to_string(options.beta2) + ")");
  }
  if (!(options.eps >= 0) || !(options.lr >= 0)) {
    throw InvalidArgument("AdamW: lr and eps must be >= 0");
  }
  std::vector<const ParameterSlice*> all;
  for (const auto& group : groups_) {
    if (!(group.weight_decay >= 0)) {
      throw InvalidArgument("AdamW: weight_decay must be >= 0, got " +
                            std::to_string(group.weight_decay));
    }
    for (const auto& slice : group.params) {
      if (slice.offset < 0 || slice.numel < 0 || slice.offset + slice.numel > arena_size) {
        throw InvalidArgument("AdamW: parameter '" + slice.name + "' [" +
                              std::to_string(slice.offset) + ", +" + std::to_string(slice.numel) +
                              ") lies outside the arena of " + std::to_string(arena_size) +
                              " floats");
      }
      all.push_back(&slice);
    }
  }
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < all.size(); ++i) {
    if (all[i - 1]->offset + all[i - 1]->numel > all[i]->offset) {
      throw InvalidArgument("AdamW: parameters '" + all[i - 1]->name + "' and '" + all[i]->name +
                            "' overlap in the arena");
    }
  }
  exp_avg_.assign(static_cast<std::size_t>(arena_size), 0.0f);
  exp_avg_sq_.assign(static_cast<std::size_t>(arena_size), 0.0f);
}

void AdamW::step(std::span<float> params, std::span<const float> grads) {
  if (static_cast<std::int64_t>(params.size()) != arena_size_ ||
      static_cast<std::int64_t>(grads.size()) != arena_size_) {
    throw InvalidArgument("AdamW::step: parameter/gradient arenas hold " +
                          std::to_string(params.size()) + "/" + std::to_string(grads.size()) +
                          " floats, the optimizer was built for " + std::to_string(arena_size_));
  }
  ++step_;
  const double lr = options_.lr;
  const double step = static_cast<double>(step_);
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, step);
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, step);
  const double step_size = lr / bias_correction1;

  struct Work {
    std::int64_t offset, numel;
    StepConstants constants;
  };
  std::vector<Work> work;
  for (const auto& group : groups_) {
    StepConstants c{};
    c.decay = static_cast<float>(1.0 - lr * group.weight_decay);
    c.beta1 = static_cast<float>(options_.beta1);
    c.one_minus_beta1 = static_cast<float>(1.0 - options_.beta1);
    c.beta2 = static_cast<float>(options_.beta2);
    c.one_minus_beta2 = static_cast<float>(1.0 - options_.beta2);
    c.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    c.eps = static_cast<float>(options_.eps);
    c.neg_step_size = static_cast<float>(-step_size);
    for (const auto& slice : group.params) {
      for (std::int64_t start = 0; start < slice.numel; start += kChunk) {
        work.push_back({slice.offset + start, std::min(kChunk, slice.numel - start), c});
      }
    }
  }
  float* p = params.data();
  const float* g = grads.data();
  float* m = exp_avg_.data();
  float* v = exp_avg_sq_.data();
  const bool fast = has_avx2_fma();
  const auto count = static_cast<std::int64_t>(work.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1)
  for (std::int64_t k = 0; k < count; ++k) {
    const Work& w = work[static_cast<std::size_t>(k)];
    if (fast) {
      adamw_elements_avx2(p + w.offset, g + w.offset, m + w.offset, v + w.offset, w.numel,
                          w.constants);
    } else {
      adamw_elements_portable(p + w.offset, g + w.offset, m + w.offset, v + w.offset, w.numel,
                              w.constants);
    }
  }
}

StateDict AdamW::state_dict() const {
  StateDict out;
  for (const auto& group : groups_) {
    for (const auto& slice : group.params) {
      std::vector<std::int64_t> shape =
          slice.shape.empty() ? std::vector<std::int64_t>{slice.numel} : slice.shape;
      const auto at = static_cast<std::size_t>(slice.offset);
      const auto n = static_cast<std::size_t>(slice.numel);
      out["exp_avg." + slice.name] =
          Tensor::from<float>(shape, std::span<const float>(exp_avg_.data() + at, n));
      out["exp_avg_sq." + slice.name] =
          Tensor::from<float>(shape, std::span<const float>(exp_avg_sq_.data() + at, n));
    }
  }
  return out;
}

void AdamW::save(const std::filesystem::path& file) const {
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const auto& group : groups_) {
    nlohmann::ordered_json names = nlohmann::ordered_json::array();
    for (const auto& slice : group.params) names.push_back(slice.name);
    groups.push_back({{"weight_decay", group.weight_decay}, {"params", names}});
  }
  nlohmann::ordered_json betas = nlohmann::ordered_json::array({options_.beta1, options_.beta2});
  Metadata metadata{
      {"format", "bertkit.adamw"},
      {"optimizer", "torch.optim.AdamW"},
      {"step", std::to_string(step_)},
      {"lr", python_float_repr(options_.lr)},
      {"betas", train::python_json_dumps(betas, -1, false)},
      {"eps", python_float_repr(options_.eps)},
      {"param_groups", train::python_json_dumps(groups, -1, false)},
  };
  save_safetensors(file, state_dict(), metadata);
}

void AdamW::load(const std::filesystem::path& file) {
  Metadata metadata;
  const StateDict tensors = load_safetensors(file, &metadata);
  const std::string where = file.string() + ": ";
  auto format = metadata.find("format");
  if (format == metadata.end() || format->second != "bertkit.adamw") {
    throw FormatError(where +
                      "not a bertkit AdamW state (metadata format is not \"bertkit.adamw\")");
  }
  auto step_it = metadata.find("step");
  std::int64_t step = -1;
  try {
    if (step_it != metadata.end()) step = std::stoll(step_it->second);
  } catch (const std::exception&) {
    step = -1;
  }
  if (step < 0)
    throw FormatError(where + "metadata \"step\" is missing or not a non-negative integer");
  std::vector<float> avg(exp_avg_.size(), 0.0f), avg_sq(exp_avg_sq_.size(), 0.0f);
  for (const auto& group : groups_) {
    for (const auto& slice : group.params) {
      for (const auto& [prefix, target] :
           {std::pair{"exp_avg.", &avg}, std::pair{"exp_avg_sq.", &avg_sq}}) {
        const std::string name = prefix + slice.name;
        auto it = tensors.find(name);
        if (it == tensors.end()) throw FormatError(where + "missing tensor '" + name + "'");
        if (it->second.dtype() != DType::kF32 || it->second.numel() != slice.numel) {
          throw FormatError(where + "tensor '" + name + "' is " +
                            std::string(dtype_name(it->second.dtype())) + " " +
                            it->second.shape_string() + ", expected F32 with " +
                            std::to_string(slice.numel) + " elements");
        }
        auto values = it->second.span<float>();
        std::copy(values.begin(), values.end(), target->begin() + slice.offset);
      }
    }
  }
  exp_avg_ = std::move(avg);
  exp_avg_sq_ = std::move(avg_sq);
  step_ = step;
}

}  // namespace bertkit
