// Activations of one (batch, sequence) shape: one arena, allocated once, reused by every forward
// of that shape. Forward writes here everything the backward pass reads (llm.c style).
//
// With keep_all_layers (training, or when attentions are returned) every layer has its own
// buffers; for plain inference one set of layer buffers is reused by all layers, and only the
// hidden states (which are outputs) are kept per layer.
#pragma once

#include <cstdint>
#include <vector>

#include "bertkit/config.h"
#include "model/parameters.h"

namespace bertkit::model {

struct LayerActivations {
  float* qkv;        // [B,S,3H] fused Q|K|V projections
  float* probs;      // [B,NH,S,S] softmax attention probabilities
  float* context;    // [B,S,H] probs V, heads concatenated
  float* attn_pre;   // [B,S,H] dense(context) + bias + layer input (attention LayerNorm input)
  float* attn_mean;  // [B*S]
  float* attn_rstd;  // [B*S]
  float* attn_out;   // [B,S,H] attention block output (LayerNorm)
  float* inter_pre;  // [B,S,I] intermediate dense + bias, before the activation
  float* inter_act;  // [B,S,I] after the activation
  float* out_pre;    // [B,S,H] dense(inter_act) + bias + attn_out (output LayerNorm input)
  float* out_mean;   // [B*S]
  float* out_rstd;   // [B*S]
};

struct Activations {
  std::int64_t B = 0, S = 0;
  bool keep_all_layers = false;
  FloatArena arena;

  float* emb_sum;              // [B,S,H] word + token_type + position (LayerNorm input)
  float* emb_mean;             // [B*S]
  float* emb_rstd;             // [B*S]
  std::vector<float*> hidden;  // L+1 x [B,S,H]: embeddings output, then each layer's output
  std::vector<LayerActivations> layers;  // L, or 1 shared by all layers
  float* additive_mask;                  // [B,S] (1 - mask) * float32 lowest
  float* pooled;                         // [B,H] tanh(dense(hidden[L][:, 0]))
  float* logits;                         // [B,num_labels] (classifier models)

  std::vector<std::int32_t> input_ids, token_type_ids, attention_mask;  // [B*S]

  Activations() = default;
  // `storage`: the arena of a previous workspace, reused when large enough (FloatArena::resize).
  Activations(const BertConfig& config, std::int64_t B, std::int64_t S, bool keep_all_layers,
              FloatArena storage = {});
  LayerActivations& layer(std::int64_t l) { return layers[keep_all_layers ? l : 0]; }
};

}  // namespace bertkit::model
