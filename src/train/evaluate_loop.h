// evaluate_model with the forward pass of each batch given by the caller: Trainer's
// cache_features runs the classifier head on cached pooler outputs instead of the whole model,
// and every metric is still computed by the one evaluation loop.
#pragma once

#include <functional>

#include "bertkit/evaluate.h"
#include "bertkit/model.h"

namespace bertkit {

// The batch's logits, and its loss when `with_labels` (classification labels), as
// BertForSequenceClassification::forward returns them. May move out of `batch`'s token vectors.
using EvalForward = std::function<ModelOutput(Batch& batch, bool with_labels)>;

EvaluateResult evaluate_model_with(BertForSequenceClassification& model,
                                   const TokenizedDataset& data, const EvaluateOptions& options,
                                   const EvalForward& forward);

}  // namespace bertkit
