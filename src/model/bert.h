// model::Bert: what BertModel and BertForSequenceClassification share -- the config, the
// parameter arena with its named views, and the activation workspace of the last shape run.
// The trainer works on this directly (gradients are an arena of the same layout).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/config.h"
#include "bertkit/model.h"
#include "bertkit/optimization.h"
#include "bertkit/tensor.h"
#include "model/activations.h"
#include "model/backward.h"
#include "model/dropout.h"
#include "model/parameters.h"

namespace bertkit::model {

class Bert {
 public:
  Bert(const BertConfig& config, bool with_classifier);

  const BertConfig& config() const { return config_; }
  const ParameterLayout& layout() const { return layout_; }
  const Weights& weights() const { return weights_; }
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  bool has_classifier() const { return layout_.has_classifier; }
  std::string_view architecture() const {
    return has_classifier() ? "BertForSequenceClassification" : "BertModel";
  }

  // HF's _init_weights from a seeded generator (see BertModel::init).
  void init_weights(std::uint64_t seed);
  // Copies a state dict into the arena, mapping names as from_pretrained does.
  void load_state_dict(const StateDict& weights, const LoadOptions& options,
                       std::string_view source);
  StateDict state_dict() const;
  void save_pretrained(const std::filesystem::path& dir) const;

  // Validates the input, (re)uses the workspace for its shape and runs the whole forward pass.
  // keep_all_layers keeps every layer's activations (backward, output_attentions).
  Activations& run(const ModelInput& input, bool keep_all_layers,
                   const DropoutMasks* drop = nullptr);
  ModelOutput forward(const ModelInput& input, const ForwardOptions& options);

  // Training: forward keeping every layer (with dropout when set_dropout enabled it), the loss
  // against `labels` (input.labels is ignored) and the backward pass, ADDING every parameter
  // gradient into `grads` (layout().total floats, the parameter layout). Returns the mean loss.
  float forward_backward(const ModelInput& input, LabelSpan labels, float* grads,
                         const BackwardOptions& options = {});
  // The frozen-encoder shortcut (Trainer's cache_features). pooled_output: embeddings, encoder
  // and pooler in eval mode, [B, H]. The *_pooled calls run the classifier head
  // alone on B pooled rows: forward_pooled gives logits and (with labels) the loss as forward()
  // would; forward_backward_pooled is forward_backward's head part -- the same classifier dropout
  // mask a full training step at this seed and step draws, the loss, and gradients into the
  // classifier slices of `grads` only.
  Tensor pooled_output(const ModelInput& input);
  ModelOutput forward_pooled(std::span<const float> pooled, std::int64_t batch_size,
                             LabelSpan labels);
  float forward_backward_pooled(std::span<const float> pooled, std::int64_t batch_size,
                                LabelSpan labels, float* grads);
  // Train-mode dropout in forward_backward (HF's model.train()): masks from a generator seeded
  // with `seed`, a fresh draw each call (step 0, 1, ...; set_dropout restarts at step 0).
  // Inference (forward) stays in eval mode.
  void set_dropout(bool enabled, std::uint64_t seed = 42);
  bool dropout_enabled() const { return dropout_enabled_; }
  // Every parameter as a named slice of the arena, HF order (AdamW, clip_grad_norm, Trainer
  // decay groups); the same slices index a gradient arena.
  std::vector<ParameterSlice> parameter_slices() const;
  // The model's own gradient arena (allocated zeroed on first use), for the public training API.
  float* grads();
  void zero_grad();

 private:
  void check_input(const ModelInput& input) const;
  void check_labels(LabelSpan labels, std::int64_t batch) const;
  void settle_problem_type();  // HF's problem_type inference on the first labelled step
  void check_pooled(std::span<const float> pooled, std::int64_t batch, const char* what) const;
  bool any_dropout() const;

  BertConfig config_;
  ParameterLayout layout_;
  FloatArena params_;
  Weights weights_;
  std::unique_ptr<Activations> acts_;
  std::unique_ptr<ActivationGrads> dacts_;   // training only
  FloatArena grads_;                         // training only
  std::unique_ptr<DropoutMasks> drop_;       // training with dropout only
  std::unique_ptr<DropoutMasks> head_drop_;  // forward_backward_pooled with dropout only
  std::vector<float> head_logits_, head_dlogits_;
  bool dropout_enabled_ = false;
  std::uint64_t dropout_seed_ = 42, dropout_step_ = 0;
};

// A model folder for a local path, else bertkit::resolve_model (hub cache / download).
std::filesystem::path resolve_model_dir(std::string_view name_or_path);

}  // namespace bertkit::model
