// Train-mode dropout of BertForSequenceClassification, where HF applies it: after the embeddings
// LayerNorm, on the attention probabilities, on each dense output before its residual add
// (BertSelfOutput, BertOutput) and on the pooled output before the classifier. The masks of one
// training step live here so the backward pass applies the same ones. Training only: inference
// never allocates this.
#pragma once

#include <cstdint>
#include <vector>

#include "bertkit/config.h"
#include "model/parameters.h"

namespace bertkit::model {

struct DropoutMasks {
  struct Layer {
    std::uint8_t* probs = nullptr;  // [B,NH,S,S]; null when attention_probs_dropout_prob == 0
    float* probs_dropped = nullptr;
    std::uint8_t* attn_out = nullptr;  // [B,S,H] BertSelfOutput; null when hidden p == 0
    std::uint8_t* out = nullptr;       // [B,S,H] BertOutput
  };
  std::int64_t B = 0, S = 0;
  float hidden_p = 0, attention_p = 0, classifier_p = 0;
  std::uint8_t* embeddings = nullptr;  // [B,S,H]
  std::vector<Layer> layers;
  std::uint8_t* classifier = nullptr;  // [B,H]
  float* pooled_dropped = nullptr;     // [B,H]
  std::vector<float> zeros;            // a zero bias for the dropout-then-residual path

  // classifier_only: the classifier's mask alone (a head trained on cached pooled features);
  // sample() still numbers the streams as for the whole model, so that mask is the one a full
  // training step with the same seed and step draws.
  // The memory behind the masks; a new shape's masks reuse an old one's (see FloatArena::resize).
  struct Storage {
    std::vector<std::uint8_t> bytes;
    FloatArena floats;
  };
  DropoutMasks(const BertConfig& config, std::int64_t B, std::int64_t S,
               bool classifier_only = false, Storage storage = {});
  Storage release_storage() && { return std::move(storage_); }
  // Fresh masks for training step `step` of the generator seeded with `seed`.
  void sample(std::uint64_t seed, std::uint64_t step, std::int64_t H, std::int64_t NH);

 private:
  Storage storage_;
};

}  // namespace bertkit::model
