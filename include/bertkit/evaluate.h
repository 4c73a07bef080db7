// Trainer.evaluate() for BertForSequenceClassification: the eval dataloader (rows in order,
// padded per batch), one forward per batch, and the metrics dict HF prints:
//
//   {'eval_loss': 0.2431, 'eval_accuracy': 0.9312, 'eval_f1': 0.9305, 'eval_runtime': 97.1,
//    'eval_samples_per_second': 257.4, 'eval_steps_per_second': 32.18, 'epoch': 1.0}
//
// eval_loss is what Trainer's evaluation_loop computes: each batch's mean loss repeated once per
// row, then averaged -- the row-weighted mean of the batch losses. accuracy and f1 are what the
// `evaluate` library's metrics return for argmax predictions (see classification_metrics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bertkit/dataset.h"
#include "bertkit/training_logs.h"

namespace bertkit {

class BertForSequenceClassification;

struct EvaluateOptions {
  std::size_t per_device_eval_batch_size = 8;
  PadOptions padding;           // dynamic (DataCollatorWithPadding) by default
  bool progress = true;         // tqdm-like bar on stderr
  std::optional<double> epoch;  // appended as 'epoch' when known (Trainer logs it)
  std::string metric_key_prefix = "eval";
};

struct EvaluateResult {
  LogEntry metrics;                       // HF's names and order
  std::vector<std::int64_t> predictions;  // argmax per row (classification), dataset order
  std::vector<float> logits;              // [rows, num_labels], row-major
};

// Runs the model (in eval mode: no dropout) over every row. Metrics, in Trainer's order:
// {prefix}_loss when the dataset has labels, {prefix}_accuracy and {prefix}_f1 for
// classification labels, then {prefix}_runtime / _samples_per_second / _steps_per_second
// (speed_metrics rounding) and 'epoch'. Regression (num_labels == 1) gets the MSE loss only.
// InvalidArgument for an empty dataset, batch size 0, a label outside [0, num_labels) (e.g.
// IMDB's unsupervised -1) or a row longer than the model's positions.
EvaluateResult evaluate_model(BertForSequenceClassification& model, const TokenizedDataset& data,
                              const EvaluateOptions& options = {});

// The metrics dict alone, with the arguments Trainer's evaluate takes.
LogEntry evaluate(BertForSequenceClassification& model, const TokenizedDataset& data,
                  std::size_t per_device_eval_batch_size = 8, PadMode padding = PadMode::kDynamic,
                  bool progress = true);

struct ClassificationMetrics {
  double accuracy = 0.0;
  // num_labels == 2: binary F1 of class 1 (sklearn's f1_score, pos_label=1; 0.0 when it has no
  // true or predicted positives, as sklearn's zero_division default). Otherwise macro F1: the
  // unweighted mean over the labels that occur in labels or predictions (sklearn's
  // average="macro").
  double f1 = 0.0;
};
// InvalidArgument for different lengths or an empty set.
ClassificationMetrics classification_metrics(std::span<const std::int64_t> predictions,
                                             std::span<const std::int64_t> labels,
                                             std::int64_t num_labels);

}  // namespace bertkit
