// BertModel and BertForSequenceClassification: transformers' eager float32 forward pass on the
// CPU, with HF's names for everything (from_pretrained, forward, last_hidden_state, ...).
//
//   auto model = bertkit::BertModel::from_pretrained("bert-base-uncased");
//   auto enc = tokenizer.encode_batch(texts, {.padding = bertkit::Padding::kLongest});
//   bertkit::ModelOutput out = model.forward(enc, {.output_hidden_states = true});
//   out.last_hidden_state.shape();  // [B, S, H]
//
// A model object is not thread-safe: forward() reuses one activation workspace per shape.
// Each forward already runs on all threads (set_num_threads).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/config.h"
#include "bertkit/optimization.h"
#include "bertkit/tensor.h"
#include "bertkit/tokenizer.h"

namespace bertkit {

namespace model {
class Bert;  // the implementation (src/model/bert.h): parameters, activations, blocks
}

// Threads of every forward (OpenMP + OpenBLAS). n <= 0: all cores.
void set_num_threads(int n);
int num_threads();

// `model(input_ids, attention_mask, token_type_ids, labels)`, rows of equal length [B, S].
struct ModelInput {
  std::int64_t batch_size = 0;
  std::int64_t seq_length = 0;
  std::vector<std::int32_t> input_ids;       // [B*S]
  std::vector<std::int32_t> attention_mask;  // [B*S] of 0/1; empty: all ones
  std::vector<std::int32_t> token_type_ids;  // [B*S]; empty: all zeros
  std::vector<std::int64_t> labels;          // [B]; non-empty: ModelOutput::loss is computed
  std::vector<float> label_values;  // [B] regression targets (num_labels == 1), instead of labels

  // Rows of any lengths; shorter rows are padded on the right with pad_id (mask 0).
  static ModelInput from_ids(const std::vector<std::vector<std::int32_t>>& rows,
                             std::int32_t pad_id = 0);
  // A tokenizer batch. Rows of unequal length (no padding asked) are right-padded as above.
  static ModelInput from_batch(const BatchEncoding& batch, std::int32_t pad_id = 0);
  // [B, S] tensors of any integer dtype (I64 as HF writes them); empty tensors take defaults.
  static ModelInput from_tensors(const Tensor& input_ids, const Tensor& attention_mask = {},
                                 const Tensor& token_type_ids = {});
};

// HF's `labels` of a batch: class ids (cross-entropy; -100 rows are ignored) or, for a
// num_labels == 1 model, float regression targets (MSELoss). Integer ids given to a
// num_labels == 1 model are regression targets too, as HF's problem_type inference treats them.
// A view: the values must outlive the call.
struct LabelSpan {
  std::span<const std::int64_t> ids;
  std::span<const float> values;

  LabelSpan() = default;
  LabelSpan(std::span<const std::int64_t> class_ids) : ids(class_ids) {}
  LabelSpan(const std::vector<std::int64_t>& class_ids) : ids(class_ids) {}
  LabelSpan(std::span<const float> targets) : values(targets) {}
  LabelSpan(const std::vector<float>& targets) : values(targets) {}
  std::size_t size() const { return values.empty() ? ids.size() : values.size(); }
  bool empty() const { return ids.empty() && values.empty(); }
};

struct ForwardOptions {
  bool output_hidden_states = false;
  bool output_attentions = false;
};

// HF's output fields. Tensors are float32, owned, row-major.
struct ModelOutput {
  Tensor last_hidden_state;           // [B, S, H]
  Tensor pooler_output;               // [B, H]
  std::vector<Tensor> hidden_states;  // L+1 x [B, S, H] when output_hidden_states
  std::vector<Tensor> attentions;     // L x [B, heads, S, S] when output_attentions
  Tensor logits;                      // [B, num_labels] (BertForSequenceClassification)
  std::optional<float> loss;          // mean cross-entropy, when labels were given
};

struct LoadOptions {
  // Notes on stderr like HF's warnings (newly initialised / unused weights).
  bool verbose = true;
  // Seed of the normal(0, initializer_range) init of a classifier the checkpoint lacks.
  std::uint64_t seed = 42;
  // HF's `num_labels=` override (re-creates id2label); unset: from config.json.
  std::optional<std::int64_t> num_labels;
};

// BertModel (embeddings, encoder, pooler).
class BertModel {
 public:
  // A local folder (config.json + model.safetensors / pytorch_model.bin) or a hub name
  // resolved through bertkit::resolve_model. Weights saved by BertForSequenceClassification
  // ("bert." prefix) load too; the classifier is ignored. A checkpoint without pooler weights
  // (masked-LM checkpoints) gets a freshly initialised pooler, announced on stderr as HF does;
  // any other missing tensor is a FormatError.
  static BertModel from_pretrained(std::string_view name_or_path, const LoadOptions& options = {});
  static BertModel from_state_dict(const BertConfig& config, const StateDict& weights,
                                   const LoadOptions& options = {},
                                   std::string_view source = "state dict");
  // HF's _init_weights: normal(0, initializer_range) for Linear/Embedding weights, zero biases,
  // zero padding_idx row, LayerNorm 1/0; deterministic for a given seed.
  static BertModel init(const BertConfig& config, std::uint64_t seed = 42);

  ModelOutput forward(const ModelInput& input, const ForwardOptions& options = {});
  ModelOutput forward(const BatchEncoding& batch, const ForwardOptions& options = {});
  ModelOutput forward(const Tensor& input_ids, const Tensor& attention_mask = {},
                      const Tensor& token_type_ids = {}, const ForwardOptions& options = {});

  const BertConfig& config() const;
  std::int64_t num_parameters() const;
  StateDict state_dict() const;  // HF names, float32 copies
  // config.json + model.safetensors; the folder loads in transformers.
  void save_pretrained(const std::filesystem::path& dir) const;

  model::Bert& impl() { return *net_; }
  const model::Bert& impl() const { return *net_; }

  BertModel(BertModel&&) noexcept;
  BertModel& operator=(BertModel&&) noexcept;
  ~BertModel();

 private:
  explicit BertModel(std::unique_ptr<model::Bert> net);
  std::unique_ptr<model::Bert> net_;
};

// BertForSequenceClassification: BertModel + dropout (identity at inference) + Linear(H, labels).
class BertForSequenceClassification {
 public:
  // A checkpoint without classifier weights gets a freshly initialised classifier, announced on
  // stderr as HF does.
  static BertForSequenceClassification from_pretrained(std::string_view name_or_path,
                                                       const LoadOptions& options = {});
  static BertForSequenceClassification from_state_dict(const BertConfig& config,
                                                       const StateDict& weights,
                                                       const LoadOptions& options = {},
                                                       std::string_view source = "state dict");
  static BertForSequenceClassification init(const BertConfig& config, std::uint64_t seed = 42);

  // --- training (Trainer's inner step) ---
  // Forward + loss (cross-entropy; MSE when num_labels == 1) + backward: ADDS d loss / d param
  // into gradients() (call zero_grad() between optimizer steps, as Trainer does). Returns the
  // mean loss. Like HF's forward, the first call fills config().problem_type when unset. Eval mode
  // (the default) has no dropout, as model.eval(); set_training(true) applies HF's train-mode
  // dropout (hidden, attention probabilities, classifier) with masks from a generator seeded by
  // `dropout_seed` (torch's own random stream is not reproduced). forward() is always eval mode.
  float train_step_forward_backward(const ModelInput& input, LabelSpan labels);
  void zero_grad();
  // The parameter and gradient arenas (same layout) and their HF-named slices, in HF's
  // parameters() order: ready for bertkit::AdamW, clip_grad_norm and trainer_param_groups.
  std::span<float> parameters();
  std::span<float> gradients();
  std::vector<ParameterSlice> parameter_slices() const;
  // HF's feature-extraction mode: the whole bert (embeddings, encoder, pooler) frozen, only the
  // classifier gets gradients.
  void set_freeze_bert(bool freeze) { freeze_bert_ = freeze; }
  bool freeze_bert() const { return freeze_bert_; }
  void set_training(bool training, std::uint64_t dropout_seed = 42);
  bool training() const { return training_; }

  // --- a frozen encoder's features (Trainer's cache_features) ---
  // pooler_output alone, [B, H]: embeddings, encoder and pooler, always eval mode (no dropout).
  Tensor pooler_output(const ModelInput& input);
  // The classifier head alone on `batch_size` rows of pooler outputs ([batch_size * H], row-major),
  // eval mode: logits, and the loss when labels are given, as forward() returns them for the
  // inputs those rows came from.
  ModelOutput forward_pooled(std::span<const float> pooler_output, std::int64_t batch_size,
                             LabelSpan labels = {});
  // train_step_forward_backward for a frozen bert, from its pooler outputs: in training mode the
  // classifier dropout mask is the one a full step with the same dropout seed draws (the
  // encoder's dropout is what is skipped), then Linear, the loss and its gradient, ADDED into the
  // classifier slices of gradients() only. Returns the mean loss.
  float train_step_forward_backward_pooled(std::span<const float> pooler_output,
                                           std::int64_t batch_size, LabelSpan labels);

  ModelOutput forward(const ModelInput& input, const ForwardOptions& options = {});
  ModelOutput forward(const BatchEncoding& batch, const ForwardOptions& options = {});
  ModelOutput forward(const Tensor& input_ids, const Tensor& attention_mask = {},
                      const Tensor& token_type_ids = {}, const ForwardOptions& options = {});

  // softmax(logits) per row, [B, num_labels].
  static Tensor probabilities(const Tensor& logits);
  const std::string& id2label(std::int64_t id) const;  // InvalidArgument when out of range
  std::int64_t num_labels() const;

  const BertConfig& config() const;
  std::int64_t num_parameters() const;
  StateDict state_dict() const;
  void save_pretrained(const std::filesystem::path& dir) const;

  model::Bert& impl() { return *net_; }
  const model::Bert& impl() const { return *net_; }

  BertForSequenceClassification(BertForSequenceClassification&&) noexcept;
  BertForSequenceClassification& operator=(BertForSequenceClassification&&) noexcept;
  ~BertForSequenceClassification();

 private:
  explicit BertForSequenceClassification(std::unique_ptr<model::Bert> net);
  std::unique_ptr<model::Bert> net_;
  bool freeze_bert_ = false;
  bool training_ = false;
};

}  // namespace bertkit
