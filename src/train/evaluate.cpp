// Trainer.evaluate() for sequence classification: see include/bertkit/evaluate.h.
#include "bertkit/evaluate.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>
#include <string>

#include "bertkit/error.h"
#include "bertkit/model.h"
#include "core/progress_bar.h"
#include "train/batch_input.h"
#include "train/evaluate_loop.h"

namespace bertkit {

namespace {

void check_labels(const TokenizedDataset& data, std::int64_t num_labels) {
  const Labels& labels = data.labels;
  if (labels.type == LabelType::kClassification) {
    if (labels.ids.size() != data.size()) {
      throw InvalidArgument("evaluate: " + std::to_string(labels.ids.size()) + " labels for " +
                            std::to_string(data.size()) + " rows");
    }
    for (std::size_t i = 0; i < labels.ids.size(); ++i) {
      const std::int64_t y = labels.ids[i];
      if (y < 0 || y >= num_labels) {
        throw InvalidArgument("evaluate: row " + std::to_string(i) + " has label " +
                              std::to_string(y) + ", outside the model's " +
                              std::to_string(num_labels) + " labels" +
                              (y < 0 ? " (an unlabeled row?)" : ""));
      }
    }
  } else if (labels.type == LabelType::kRegression) {
    if (num_labels != 1) {
      throw InvalidArgument("evaluate: regression labels need a model with num_labels == 1, got " +
                            std::to_string(num_labels));
    }
    if (labels.values.size() != data.size()) {
      throw InvalidArgument("evaluate: " + std::to_string(labels.values.size()) + " labels for " +
                            std::to_string(data.size()) + " rows");
    }
  }
}

// Mean squared error of one batch, as MSELoss over logits.squeeze() in float32.
float batch_mse(std::span<const float> logits, std::span<const float> targets) {
  float sum = 0.0f;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const float d = logits[i] - targets[i];
    sum += d * d;
  }
  return sum / static_cast<float>(targets.size());
}

}  // namespace

ClassificationMetrics classification_metrics(std::span<const std::int64_t> predictions,
                                             std::span<const std::int64_t> labels,
                                             std::int64_t num_labels) {
  if (predictions.size() != labels.size()) {
    throw InvalidArgument("classification_metrics: " + std::to_string(predictions.size()) +
                          " predictions for " + std::to_string(labels.size()) + " labels");
  }
  if (labels.empty()) throw InvalidArgument("classification_metrics: no rows");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
  ClassificationMetrics m;
  m.accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());

  auto f1_of = [&](std::int64_t c) {
    std::size_t tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const bool p = predictions[i] == c, t = labels[i] == c;
      tp += p && t;
      fp += p && !t;
      fn += !p && t;
    }
    // sklearn: 2tp / (2tp + fp + fn), and 0.0 (zero_division="warn") when the denominator is 0.
    const std::size_t denom = 2 * tp + fp + fn;
    return denom == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denom);
  };
  if (num_labels == 2) {
    m.f1 = f1_of(1);
  } else {
    std::set<std::int64_t> present(labels.begin(), labels.end());
    present.insert(predictions.begin(), predictions.end());
    double sum = 0.0;
    for (std::int64_t c : present) sum += f1_of(c);
    m.f1 = sum / static_cast<double>(present.size());
  }
  return m;
}

EvaluateResult evaluate_model(BertForSequenceClassification& model, const TokenizedDataset& data,
                              const EvaluateOptions& options) {
  return evaluate_model_with(model, data, options, [&model](Batch& batch, bool with_labels) {
    return model.forward(take_model_input(batch, with_labels));
  });
}

EvaluateResult evaluate_model_with(BertForSequenceClassification& model,
                                   const TokenizedDataset& data, const EvaluateOptions& options,
                                   const EvalForward& forward) {
  if (data.size() == 0) throw InvalidArgument("evaluate: the dataset has no rows");
  if (options.per_device_eval_batch_size == 0) {
    throw InvalidArgument("evaluate: per_device_eval_batch_size must be at least 1");
  }
  const std::int64_t num_labels = model.num_labels();
  const auto max_positions = static_cast<std::size_t>(model.config().max_position_embeddings);
  if (data.longest() > max_positions) {
    throw InvalidArgument("evaluate: a row has " + std::to_string(data.longest()) +
                          " tokens, more than the model's max_position_embeddings " +
                          std::to_string(max_positions) + " (tokenize with a smaller max_length)");
  }
  check_labels(data, num_labels);
  const LabelType label_type = data.labels.type;
  const bool classification = label_type == LabelType::kClassification;

  const bool was_training = model.training();
  if (was_training) model.set_training(false);

  const auto start = std::chrono::steady_clock::now();
  DataLoaderOptions loader_options;
  loader_options.sampler.batch_size = options.per_device_eval_batch_size;
  loader_options.sampler.shuffle = false;
  loader_options.padding = options.padding;
  DataLoader loader(data, loader_options);
  const std::size_t steps = loader.num_batches();

  ProgressBarOptions bar_options;
  bar_options.total = static_cast<std::int64_t>(steps);
  bar_options.enabled = options.progress;
  ProgressBar bar(bar_options);

  EvaluateResult result;
  result.logits.reserve(data.size() * static_cast<std::size_t>(num_labels));
  // Trainer repeats each batch's float32 mean loss once per row; the sum of those is kept in
  // double so the mean does not depend on the batch order.
  double loss_sum = 0.0;
  for (std::size_t step = 0; step < steps; ++step) {
    Batch batch = loader.next();
    const std::size_t rows = batch.B;
    std::vector<float> targets = batch.label_values;
    const ModelOutput out = forward(batch, classification);
    const auto logits = out.logits.span<float>();
    result.logits.insert(result.logits.end(), logits.begin(), logits.end());
    if (classification) {
      loss_sum += static_cast<double>(out.loss.value()) * static_cast<double>(rows);
      for (std::size_t r = 0; r < rows; ++r) {
        const float* row = logits.data() + r * static_cast<std::size_t>(num_labels);
        // np.argmax: the first of equal maxima.
        result.predictions.push_back(std::max_element(row, row + num_labels) - row);
      }
    } else if (label_type == LabelType::kRegression) {
      loss_sum += static_cast<double>(batch_mse(logits, targets)) * static_cast<double>(rows);
    }
    bar.update(1);
  }
  bar.close();
  const double runtime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (was_training) model.set_training(true);

  const std::string& prefix = options.metric_key_prefix;
  LogEntry& metrics = result.metrics;
  if (label_type != LabelType::kNone) {
    // all_losses.mean().item(): a float32 mean seen from Python.
    const auto mean = static_cast<float>(loss_sum / static_cast<double>(data.size()));
    metrics.emplace_back(prefix + "_loss", python_float_of(mean));
  }
  if (classification) {
    const ClassificationMetrics m =
        classification_metrics(result.predictions, data.labels.ids, num_labels);
    metrics.emplace_back(prefix + "_accuracy", m.accuracy);
    metrics.emplace_back(prefix + "_f1", m.f1);
  }
  for (auto& entry : speed_metrics(prefix, runtime, static_cast<double>(data.size()),
                                   static_cast<double>(steps))) {
    metrics.push_back(std::move(entry));
  }
  if (options.epoch) metrics.emplace_back("epoch", *options.epoch);
  return result;
}

LogEntry evaluate(BertForSequenceClassification& model, const TokenizedDataset& data,
                  std::size_t per_device_eval_batch_size, PadMode padding, bool progress) {
  EvaluateOptions options;
  options.per_device_eval_batch_size = per_device_eval_batch_size;
  options.padding.mode = padding;
  options.progress = progress;
  return evaluate_model(model, data, options).metrics;
}

}  // namespace bertkit
