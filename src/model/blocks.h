// The blocks of HF's BertModel / BertForSequenceClassification (eager attention, eval mode), one
// X_forward per HF module, over the parameter and activation structs. The backward pass adds
// X_backward beside each, reading what these saved.
#pragma once

#include "bertkit/config.h"
#include "model/activations.h"
#include "model/dropout.h"
#include "model/parameters.h"

namespace bertkit::model {

// `drop` (training only) applies train-mode dropout with its masks; null: eval mode.
//
// BertEmbeddings: LayerNorm(word + token_type + position) -> acts.hidden[0].
void embeddings_forward(const BertConfig& c, const Weights& w, Activations& a,
                        const DropoutMasks* drop = nullptr);
// BertLayer l: acts.hidden[l] -> acts.hidden[l + 1].
void encoder_layer_forward(const BertConfig& c, const LayerWeights& w, Activations& a,
                           std::int64_t l, const DropoutMasks* drop = nullptr);
// BertPooler: tanh(dense(hidden[L][:, 0])) -> acts.pooled.
void pooler_forward(const BertConfig& c, const Weights& w, Activations& a);
// classifier Linear on the pooled output -> acts.logits (dropout is identity in eval).
void classifier_forward(const BertConfig& c, const Weights& w, Activations& a,
                        const DropoutMasks* drop = nullptr);
// The same head on B pooled rows held anywhere (the Trainer's cached features): pooled [B,H] ->
// logits [B,num_labels].
void classifier_forward(const BertConfig& c, const Weights& w, const float* pooled, float* logits,
                        std::int64_t B, const DropoutMasks* drop = nullptr);

// Everything: embeddings, every layer, pooler, and the classifier when w has one.
void bert_forward(const BertConfig& c, const Weights& w, Activations& a,
                  const DropoutMasks* drop = nullptr);

}  // namespace bertkit::model
