// A collated Batch as the model takes it: the one conversion the Trainer's step, its feature cache
// and the evaluation loop share.
#pragma once

#include <span>
#include <utility>

#include "bertkit/dataset.h"
#include "bertkit/model.h"

namespace bertkit {

// Moves the token arrays out of `batch` (its labels, indices and position stay); the labels go
// into ModelInput only when `with_labels` (the training step passes them separately).
inline ModelInput take_model_input(Batch& batch, bool with_labels) {
  ModelInput in;
  in.batch_size = static_cast<std::int64_t>(batch.B);
  in.seq_length = static_cast<std::int64_t>(batch.S);
  in.input_ids = std::move(batch.input_ids);
  in.attention_mask = std::move(batch.attention_mask);
  in.token_type_ids = std::move(batch.token_type_ids);
  if (with_labels) {
    in.labels = batch.labels;
    in.label_values = batch.label_values;
  }
  return in;
}

// The batch's labels for the loss: class ids, or regression targets (num_labels == 1).
inline LabelSpan batch_labels(const Batch& batch) {
  if (!batch.label_values.empty()) return LabelSpan(std::span<const float>(batch.label_values));
  return LabelSpan(std::span<const std::int64_t>(batch.labels));
}

}  // namespace bertkit
