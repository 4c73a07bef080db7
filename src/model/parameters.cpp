#include "model/parameters.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "bertkit/error.h"

namespace bertkit::model {

namespace {

// Arena placement of one layer: the fused Q|K|V block first, then the rest in HF order.
enum LayerSlot {
  kQueryW,
  kKeyW,
  kValueW,
  kQueryB,
  kKeyB,
  kValueB,
  kAttnOutW,
  kAttnOutB,
  kAttnLnW,
  kAttnLnB,
  kInterW,
  kInterB,
  kOutW,
  kOutB,
  kOutLnW,
  kOutLnB,
  kNumSlots
};

}  // namespace

ParameterLayout ParameterLayout::build(const BertConfig& c, bool with_classifier) {
  c.validate();
  ParameterLayout layout;
  layout.prefix = with_classifier ? "bert." : "";
  layout.has_classifier = with_classifier;
  const std::int64_t H = c.hidden_size, I = c.intermediate_size;
  std::int64_t offset = 0;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    layout.tensors.push_back({name, std::move(shape), offset, n});
    offset += n;
  };
  const std::string p = layout.prefix;
  add(p + "embeddings.word_embeddings.weight", {c.vocab_size, H});
  add(p + "embeddings.position_embeddings.weight", {c.max_position_embeddings, H});
  add(p + "embeddings.token_type_embeddings.weight", {c.type_vocab_size, H});
  add(p + "embeddings.LayerNorm.weight", {H});
  add(p + "embeddings.LayerNorm.bias", {H});
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string L = p + "encoder.layer." + std::to_string(l) + ".";
    // Arena order (see LayerSlot); pushed to `tensors` below in HF order.
    struct Slot {
      std::string name;
      std::vector<std::int64_t> shape;
    };
    const Slot slots[kNumSlots] = {
        {L + "attention.self.query.weight", {H, H}},
        {L + "attention.self.key.weight", {H, H}},
        {L + "attention.self.value.weight", {H, H}},
        {L + "attention.self.query.bias", {H}},
        {L + "attention.self.key.bias", {H}},
        {L + "attention.self.value.bias", {H}},
        {L + "attention.output.dense.weight", {H, H}},
        {L + "attention.output.dense.bias", {H}},
        {L + "attention.output.LayerNorm.weight", {H}},
        {L + "attention.output.LayerNorm.bias", {H}},
        {L + "intermediate.dense.weight", {I, H}},
        {L + "intermediate.dense.bias", {I}},
        {L + "output.dense.weight", {H, I}},
        {L + "output.dense.bias", {H}},
        {L + "output.LayerNorm.weight", {H}},
        {L + "output.LayerNorm.bias", {H}},
    };
    std::int64_t offsets[kNumSlots];
    for (int s = 0; s < kNumSlots; ++s) {
      offsets[s] = offset;
      std::int64_t n = 1;
      for (auto d : slots[s].shape) n *= d;
      offset += n;
    }
    const int hf_order[kNumSlots] = {kQueryW,   kQueryB,   kKeyW,    kKeyB,    kValueW, kValueB,
                                     kAttnOutW, kAttnOutB, kAttnLnW, kAttnLnB, kInterW, kInterB,
                                     kOutW,     kOutB,     kOutLnW,  kOutLnB};
    for (int s : hf_order) {
      std::int64_t n = 1;
      for (auto d : slots[s].shape) n *= d;
      layout.tensors.push_back({slots[s].name, slots[s].shape, offsets[s], n});
    }
  }
  add(p + "pooler.dense.weight", {H, H});
  add(p + "pooler.dense.bias", {H});
  if (with_classifier) {
    add("classifier.weight", {c.num_labels(), H});
    add("classifier.bias", {c.num_labels()});
  }
  layout.total = offset;
  return layout;
}

const ParameterInfo* ParameterLayout::find(std::string_view name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Weights bind_weights(float* base, const BertConfig& c, const ParameterLayout& layout) {
  auto at = [&](const std::string& name) {
    const ParameterInfo* info = layout.find(name);
    if (!info) throw InvalidArgument("internal: parameter " + name + " missing from the layout");
    return base + info->offset;
  };
  const std::string p = layout.prefix;
  Weights w;
  w.word_embeddings = at(p + "embeddings.word_embeddings.weight");
  w.position_embeddings = at(p + "embeddings.position_embeddings.weight");
  w.token_type_embeddings = at(p + "embeddings.token_type_embeddings.weight");
  w.embeddings_ln_weight = at(p + "embeddings.LayerNorm.weight");
  w.embeddings_ln_bias = at(p + "embeddings.LayerNorm.bias");
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string L = p + "encoder.layer." + std::to_string(l) + ".";
    LayerWeights lw;
    lw.qkv_weight = at(L + "attention.self.query.weight");
    lw.qkv_bias = at(L + "attention.self.query.bias");
    lw.attn_output_weight = at(L + "attention.output.dense.weight");
    lw.attn_output_bias = at(L + "attention.output.dense.bias");
    lw.attn_ln_weight = at(L + "attention.output.LayerNorm.weight");
    lw.attn_ln_bias = at(L + "attention.output.LayerNorm.bias");
    lw.intermediate_weight = at(L + "intermediate.dense.weight");
    lw.intermediate_bias = at(L + "intermediate.dense.bias");
    lw.output_weight = at(L + "output.dense.weight");
    lw.output_bias = at(L + "output.dense.bias");
    lw.output_ln_weight = at(L + "output.LayerNorm.weight");
    lw.output_ln_bias = at(L + "output.LayerNorm.bias");
    w.layers.push_back(lw);
  }
  w.pooler_weight = at(p + "pooler.dense.weight");
  w.pooler_bias = at(p + "pooler.dense.bias");
  if (layout.has_classifier) {
    w.classifier_weight = at("classifier.weight");
    w.classifier_bias = at("classifier.bias");
  }
  return w;
}

FloatArena::FloatArena(std::int64_t n) : size_(n), capacity_(n) {
  if (n < 0) throw InvalidArgument("negative arena size");
  const std::size_t bytes = ((static_cast<std::size_t>(n) * sizeof(float) + 63) / 64) * 64;
  if (bytes == 0) return;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(static_cast<float*>(p));
}

void FloatArena::resize(std::int64_t n) {
  if (n < 0) throw InvalidArgument("negative arena size");
  if (n > capacity_) {
    *this = FloatArena();  // free first: the old and the new buffer never coexist
    *this = FloatArena(n);
    return;
  }
  size_ = n;
  if (n > 0) std::memset(data_.get(), 0, static_cast<std::size_t>(n) * sizeof(float));
}

void FloatArena::Free::operator()(float* p) const { std::free(p); }

}  // namespace bertkit::model
