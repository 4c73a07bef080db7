// The backward pass of BertForSequenceClassification, one X_backward per HF module beside the
// X_forward of blocks.h (llm.c style). Each reads what its forward saved in Activations and the
// gradient of its output, adds (+=) into the parameter gradients `g` (an arena of the parameter
// layout, bound with bind_weights) and writes the gradient of its input.
#pragma once

#include <cstdint>
#include <span>

#include "bertkit/config.h"
#include "bertkit/model.h"
#include "model/activations.h"
#include "model/dropout.h"
#include "model/parameters.h"

namespace bertkit::model {

// Gradients of the activations: training-only, allocated on the first backward of a shape (so
// inference never pays for them). One set is shared by all layers (walked in reverse).
struct ActivationGrads {
  std::int64_t B = 0, S = 0;
  FloatArena arena;
  float* hidden;    // [B,S,H] gradient of the current layer boundary
  float* out_pre;   // [B,S,H]
  float* inter;     // [B,S,I]
  float* attn_out;  // [B,S,H]
  float* attn_pre;  // [B,S,H]
  float* context;   // [B,S,H]
  float* qkv;       // [B,S,3H]
  float* probs;     // [B,NH,S,S] scratch of the attention backward
  float* pooled;    // [B,H]
  float* logits;    // [B,num_labels]
  ActivationGrads() = default;
  ActivationGrads(const BertConfig& config, std::int64_t B, std::int64_t S,
                  FloatArena storage = {});  // reused when large enough
};

struct BackwardOptions {
  // HF feature-extraction fine-tuning: the whole bert (embeddings, encoder, pooler) frozen, only
  // the classifier gets gradients (and no time is spent below it).
  bool freeze_bert = false;
};

// HF's loss of B rows of logits: cross-entropy against class ids, or MSELoss (num_labels == 1)
// against the regression targets (labels.values, else the ids as floats).
float loss_forward(const BertConfig& c, const float* logits, std::int64_t B, LabelSpan labels);
// Mean loss of acts.logits against labels and its gradient into d.logits.
float loss_forward_backward(const BertConfig& c, const Activations& a, LabelSpan labels,
                            ActivationGrads& d);
// The same on B rows of logits held anywhere: dlogits [B,num_labels] out.
float loss_forward_backward(const BertConfig& c, const float* logits, std::int64_t B,
                            LabelSpan labels, float* dlogits);

// `drop`: the masks the forward used (train mode), or null (eval mode).
void classifier_backward(const BertConfig& c, const Weights& w, const Weights& g,
                         const Activations& a, ActivationGrads& d, bool need_dinp,
                         const DropoutMasks* drop = nullptr);
// The same on B pooled rows held anywhere (the Trainer's cached features); dpooled may be null
// (a frozen encoder needs no gradient below the classifier).
void classifier_backward(const BertConfig& c, const Weights& w, const Weights& g,
                         const float* pooled, const float* dlogits, float* dpooled, std::int64_t B,
                         const DropoutMasks* drop = nullptr);
// From d.pooled: pooler gradients, and d.hidden = gradient of hidden[L] (only [CLS] rows != 0).
void pooler_backward(const BertConfig& c, const Weights& w, const Weights& g, Activations& a,
                     ActivationGrads& d);
// d.hidden: gradient of hidden[l + 1] in, gradient of hidden[l] out.
void encoder_layer_backward(const BertConfig& c, const LayerWeights& w, const LayerWeights& g,
                            Activations& a, ActivationGrads& d, std::int64_t l,
                            const DropoutMasks* drop = nullptr);
// From d.hidden (gradient of hidden[0]): LayerNorm and the three tables.
void embeddings_backward(const BertConfig& c, const Weights& w, const Weights& g, Activations& a,
                         ActivationGrads& d, const DropoutMasks* drop = nullptr);

// Everything after bert_forward: returns the loss, adds every parameter gradient into g.
float bert_backward(const BertConfig& c, const Weights& w, const Weights& g, Activations& a,
                    ActivationGrads& d, LabelSpan labels, const BackwardOptions& options,
                    const DropoutMasks* drop = nullptr);

}  // namespace bertkit::model
