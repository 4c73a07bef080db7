// The parameters of a BERT in ONE contiguous float32 arena, named by HF state-dict names.
//
// ParameterLayout lists every tensor (HF name, shape, offset into the arena) in HF's state_dict
// order; Weights is the struct of typed pointers the forward/backward code uses. A gradient or
// AdamW-moment arena has the same layout: bind_weights(grad_base, ...) names its pieces too.
//
// Within a layer the arena stores query/key/value weights back to back ([3H, H]) and their
// biases back to back ([3H]), so the projection is one GEMM; the state-dict names view slices.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/config.h"

namespace bertkit::model {

struct ParameterInfo {
  std::string name;  // e.g. "bert.encoder.layer.0.attention.self.query.weight"
  std::vector<std::int64_t> shape;
  std::int64_t offset = 0;  // in floats from the arena start
  std::int64_t numel = 0;
};

struct ParameterLayout {
  // "bert." for BertForSequenceClassification (HF nests BertModel under `bert`), "" for BertModel.
  std::string prefix;
  bool has_classifier = false;
  std::vector<ParameterInfo> tensors;  // HF state_dict order
  std::int64_t total = 0;              // floats in the arena

  static ParameterLayout build(const BertConfig& config, bool with_classifier);
  // By full name (with prefix); nullptr if absent.
  const ParameterInfo* find(std::string_view name) const;
};

struct LayerWeights {
  float* qkv_weight;          // [3H, H]: query.weight | key.weight | value.weight
  float* qkv_bias;            // [3H]
  float* attn_output_weight;  // attention.output.dense [H, H]
  float* attn_output_bias;
  float* attn_ln_weight;  // attention.output.LayerNorm
  float* attn_ln_bias;
  float* intermediate_weight;  // intermediate.dense [I, H]
  float* intermediate_bias;
  float* output_weight;  // output.dense [H, I]
  float* output_bias;
  float* output_ln_weight;  // output.LayerNorm
  float* output_ln_bias;
};

struct Weights {
  float* word_embeddings;        // [V, H]
  float* position_embeddings;    // [P, H]
  float* token_type_embeddings;  // [T, H]
  float* embeddings_ln_weight;
  float* embeddings_ln_bias;
  std::vector<LayerWeights> layers;
  float* pooler_weight;  // [H, H]
  float* pooler_bias;
  float* classifier_weight = nullptr;  // [num_labels, H], null without a classifier
  float* classifier_bias = nullptr;
};

Weights bind_weights(float* base, const BertConfig& config, const ParameterLayout& layout);

// Hands out consecutive pieces of one buffer: how a workspace lays its tensors into its arena.
template <class T>
class BufferCarver {
 public:
  explicit BufferCarver(T* base) : next_(base) {}
  T* take(std::int64_t n) {
    T* piece = next_;
    next_ += n;
    return piece;
  }

 private:
  T* next_;
};

// A zero-filled, 64-byte aligned float buffer (parameters, gradients, activations).
class FloatArena {
 public:
  FloatArena() = default;
  explicit FloatArena(std::int64_t n);
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::int64_t size() const { return size_; }
  // n zero floats, in the memory already held when it is large enough. Workspaces are resized for
  // every new batch shape (dynamic padding changes it each step): reusing the pages spares the
  // page faults and kernel zeroing of a fresh allocation, as a caching allocator would.
  void resize(std::int64_t n);

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> data_;
  std::int64_t size_ = 0;
  std::int64_t capacity_ = 0;
};

}  // namespace bertkit::model
