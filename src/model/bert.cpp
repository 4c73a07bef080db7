#include "model/bert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include "backend/ops.h"
#include "bertkit/error.h"
#include "bertkit/serialization.h"
#include "model/blocks.h"

namespace bertkit::model {

Bert::Bert(const BertConfig& config, bool with_classifier)
    : config_(config),
      layout_(ParameterLayout::build(config, with_classifier)),
      params_(layout_.total),
      weights_(bind_weights(params_.data(), config_, layout_)) {}

namespace {

// ModelInput's labels as the loss sees them (check_labels refuses both kinds at once).
LabelSpan input_labels(const ModelInput& in) {
  LabelSpan labels;
  labels.ids = in.labels;
  labels.values = in.label_values;
  return labels;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The name a checkpoint tensor stands for in our layout, without the "bert." prefix:
// old TF-converted checkpoints say LayerNorm.gamma/beta for weight/bias.
std::string canonical_name(std::string name) {
  if (ends_with(name, ".gamma")) name = name.substr(0, name.size() - 6) + ".weight";
  if (ends_with(name, ".beta")) name = name.substr(0, name.size() - 5) + ".bias";
  if (name.rfind("bert.", 0) == 0) name = name.substr(5);
  return name;
}

std::string list_names(const std::vector<std::string>& names, std::size_t max = 8) {
  std::string s = "[";
  for (std::size_t i = 0; i < names.size() && i < max; ++i) {
    s += (i ? ", '" : "'") + names[i] + "'";
  }
  if (names.size() > max) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s + "]";
}

void fill_normal(float* p, std::int64_t n, float stddev, std::mt19937_64& rng) {
  std::normal_distribution<float> dist(0.0f, stddev);
  for (std::int64_t i = 0; i < n; ++i) p[i] = dist(rng);
}

// HF _init_weights for one tensor, by its role.
void init_tensor(float* p, const ParameterInfo& info, const BertConfig& c, std::mt19937_64& rng) {
  const std::string& name = info.name;
  if (name.find("LayerNorm.weight") != std::string::npos) {
    std::fill(p, p + info.numel, 1.0f);
  } else if (ends_with(name, ".bias")) {
    std::fill(p, p + info.numel, 0.0f);
  } else {
    fill_normal(p, info.numel, static_cast<float>(c.initializer_range), rng);
    if (ends_with(name, "word_embeddings.weight")) {
      std::fill(p + c.pad_token_id * c.hidden_size, p + (c.pad_token_id + 1) * c.hidden_size, 0.0f);
    }
  }
}

}  // namespace

void Bert::init_weights(std::uint64_t seed) {
  // One generator per tensor, seeded by (seed, tensor index): the tensors fill in parallel and
  // the values do not depend on the thread count.
  const auto n = static_cast<std::int64_t>(layout_.tensors.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t i = 0; i < n; ++i) {
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                      static_cast<std::uint32_t>(i)};
    std::mt19937_64 rng(seq);
    const ParameterInfo& info = layout_.tensors[i];
    init_tensor(params_.data() + info.offset, info, config_, rng);
  }
}

void Bert::load_state_dict(const StateDict& sd, const LoadOptions& options,
                           std::string_view source) {
  const std::string where(source);
  std::map<std::string, std::string> by_canonical;  // canonical -> checkpoint name
  for (const auto& [name, tensor] : sd) {
    std::string canon = canonical_name(name);
    auto [it, inserted] = by_canonical.emplace(canon, name);
    if (!inserted) {
      throw FormatError(where + ": tensors '" + it->second + "' and '" + name +
                        "' both hold parameter '" + canon + "'");
    }
  }
  std::set<std::string> used;
  std::vector<std::string> missing, newly_initialised;
  for (const auto& info : layout_.tensors) {
    const std::string canon = canonical_name(info.name);
    auto it = by_canonical.find(canon);
    if (it == by_canonical.end()) {
      // HF initialises heads a checkpoint lacks (and warns): the classifier of a base
      // checkpoint, the pooler of a masked-LM one. Anything else missing is an error.
      if (info.name.rfind("classifier.", 0) == 0 || canon.rfind("pooler.dense.", 0) == 0) {
        newly_initialised.push_back(info.name);
      } else {
        missing.push_back(info.name);
      }
      continue;
    }
    const Tensor& t = sd.at(it->second);
    if (t.shape() != info.shape) {
      std::string want = "[";
      for (std::size_t i = 0; i < info.shape.size(); ++i) {
        want += (i ? ", " : "") + std::to_string(info.shape[i]);
      }
      want += "]";
      throw InvalidArgument(where + ": tensor '" + it->second + "' has shape " + t.shape_string() +
                            " but the config (hidden_size " + std::to_string(config_.hidden_size) +
                            ", intermediate_size " + std::to_string(config_.intermediate_size) +
                            ", vocab_size " + std::to_string(config_.vocab_size) + ", num_labels " +
                            std::to_string(config_.num_labels()) + ") needs " + want);
    }
    float* dst = params_.data() + info.offset;
    switch (t.dtype()) {
      case DType::kF32: {
        auto s = t.span<float>();
        std::memcpy(dst, s.data(), s.size() * sizeof(float));
        break;
      }
      case DType::kF16:
      case DType::kBF16:
      case DType::kF64: {
        Tensor f = t.to_f32();
        auto s = f.span<float>();
        std::memcpy(dst, s.data(), s.size() * sizeof(float));
        break;
      }
      default:
        throw FormatError(where + ": tensor '" + it->second + "' has dtype " +
                          std::string(dtype_name(t.dtype())) + ", not a floating point type");
    }
    used.insert(it->second);
  }
  if (!missing.empty()) {
    throw FormatError(where + ": the checkpoint lacks " + std::to_string(missing.size()) +
                      " tensor(s) " + std::string(architecture()) +
                      " needs: " + list_names(missing));
  }
  if (!newly_initialised.empty()) {
    std::mt19937_64 rng(options.seed);
    for (const auto& name : newly_initialised) {
      const ParameterInfo* info = layout_.find(name);
      init_tensor(params_.data() + info->offset, *info, config_, rng);
    }
    if (options.verbose) {
      std::sort(newly_initialised.begin(), newly_initialised.end());
      std::cerr << "Some weights of " << architecture()
                << " were not initialized from the model checkpoint at " << where
                << " and are newly initialized: " << list_names(newly_initialised) << "\n"
                << "You should probably TRAIN this model on a down-stream task to be able to use "
                   "it for predictions and inference.\n";
    }
  }
  std::vector<std::string> unused;
  for (const auto& [name, tensor] : sd) {
    if (used.count(name) || ends_with(name, "position_ids")) continue;
    unused.push_back(name);
  }
  if (!unused.empty() && options.verbose) {
    std::cerr << "Some weights of the model checkpoint at " << where
              << " were not used when initializing " << architecture() << ": " << list_names(unused)
              << "\n";
  }
}

StateDict Bert::state_dict() const {
  StateDict sd;
  for (const auto& info : layout_.tensors) {
    sd.emplace(info.name,
               Tensor::from<float>(info.shape,
                                   std::span<const float>(params_.data() + info.offset,
                                                          static_cast<std::size_t>(info.numel))));
  }
  return sd;
}

void Bert::save_pretrained(const std::filesystem::path& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("cannot create folder " + dir.string() + ": " + ec.message());
  BertConfig c = config_;
  c.architectures = {std::string(architecture())};
  c.torch_dtype = "float32";
  c.save(dir / "config.json");
  save_safetensors(dir / "model.safetensors", state_dict());
}

void Bert::check_input(const ModelInput& in) const {
  const std::int64_t B = in.batch_size, S = in.seq_length;
  if (B <= 0 || S <= 0) {
    throw InvalidArgument("model input: empty batch (batch_size " + std::to_string(B) +
                          ", seq_length " + std::to_string(S) + ")");
  }
  const auto N = static_cast<std::size_t>(B * S);
  if (in.input_ids.size() != N) {
    throw InvalidArgument("model input: input_ids has " + std::to_string(in.input_ids.size()) +
                          " values, expected batch_size x seq_length = " + std::to_string(N));
  }
  if (!in.attention_mask.empty() && in.attention_mask.size() != N) {
    throw InvalidArgument("model input: attention_mask has " +
                          std::to_string(in.attention_mask.size()) + " values, expected " +
                          std::to_string(N));
  }
  if (!in.token_type_ids.empty() && in.token_type_ids.size() != N) {
    throw InvalidArgument("model input: token_type_ids has " +
                          std::to_string(in.token_type_ids.size()) + " values, expected " +
                          std::to_string(N));
  }
  if (S > config_.max_position_embeddings) {
    throw InvalidArgument(
        "model input: sequence length " + std::to_string(S) + " exceeds max_position_embeddings " +
        std::to_string(config_.max_position_embeddings) + " (truncate the input)");
  }
  auto where = [S](std::size_t i) {
    return "[" + std::to_string(i / S) + ", " + std::to_string(i % S) + "]";
  };
  for (std::size_t i = 0; i < N; ++i) {
    if (in.input_ids[i] < 0 || in.input_ids[i] >= config_.vocab_size) {
      throw InvalidArgument("model input: input_ids" + where(i) + " = " +
                            std::to_string(in.input_ids[i]) + " is outside the vocabulary [0, " +
                            std::to_string(config_.vocab_size) + ")");
    }
    if (!in.token_type_ids.empty() &&
        (in.token_type_ids[i] < 0 || in.token_type_ids[i] >= config_.type_vocab_size)) {
      throw InvalidArgument("model input: token_type_ids" + where(i) + " = " +
                            std::to_string(in.token_type_ids[i]) + " is outside [0, " +
                            std::to_string(config_.type_vocab_size) + ")");
    }
    if (!in.attention_mask.empty() && in.attention_mask[i] != 0 && in.attention_mask[i] != 1) {
      throw InvalidArgument("model input: attention_mask" + where(i) + " = " +
                            std::to_string(in.attention_mask[i]) + ", expected 0 or 1");
    }
  }
  if (!in.labels.empty() || !in.label_values.empty()) check_labels(input_labels(in), B);
}

void Bert::check_labels(LabelSpan labels, std::int64_t B) const {
  if (!has_classifier()) {
    throw InvalidArgument("model input: labels given to BertModel, which has no classifier");
  }
  if (!labels.ids.empty() && !labels.values.empty()) {
    throw InvalidArgument("model input: give class ids or regression targets, not both");
  }
  if (labels.size() != static_cast<std::size_t>(B)) {
    throw InvalidArgument("model input: " + std::to_string(labels.size()) +
                          " labels for a batch of " + std::to_string(B));
  }
  const std::int64_t C = config_.num_labels();
  if (config_.problem_type) {
    const std::string& type = *config_.problem_type;
    const bool supported =
        (type == "regression" && C == 1) || (type == "single_label_classification" && C > 1);
    if (!supported) {
      throw InvalidArgument("model input: config problem_type \"" + type + "\" with num_labels " +
                            std::to_string(C) +
                            " is not supported (bertkit trains single_label_classification with "
                            "num_labels > 1 and regression with num_labels == 1)");
    }
  }
  if (!labels.values.empty() && C != 1) {
    throw InvalidArgument(
        "model input: float regression targets need num_labels == 1, the model "
        "has " +
        std::to_string(C) + " labels");
  }
  for (std::size_t i = 0; i < labels.values.size(); ++i) {
    if (!std::isfinite(labels.values[i])) {
      throw InvalidArgument("model input: regression target [" + std::to_string(i) +
                            "] = " + std::to_string(labels.values[i]) + " is not finite");
    }
  }
  if (C == 1) return;  // integer ids are regression targets (HF's problem_type inference)
  for (std::size_t i = 0; i < labels.ids.size(); ++i) {
    const auto y = labels.ids[i];
    if (y != -100 && (y < 0 || y >= C)) {
      throw InvalidArgument("model input: labels[" + std::to_string(i) + "] = " +
                            std::to_string(y) + " is outside [0, " + std::to_string(C) + ")");
    }
  }
}

namespace {

// A workspace of the previous shape gives its memory to the next one (dynamic padding changes
// the shape at every batch) and is destroyed first, so the two never coexist.
template <class Workspace>
FloatArena release_arena(std::unique_ptr<Workspace>& workspace) {
  FloatArena arena;
  if (workspace) arena = std::move(workspace->arena);
  workspace.reset();
  return arena;
}

DropoutMasks::Storage release_storage(std::unique_ptr<DropoutMasks>& masks) {
  DropoutMasks::Storage storage;
  if (masks) storage = std::move(*masks).release_storage();
  masks.reset();
  return storage;
}

}  // namespace

Activations& Bert::run(const ModelInput& in, bool keep_all_layers, const DropoutMasks* drop) {
  check_input(in);
  const std::int64_t B = in.batch_size, S = in.seq_length;
  if (!acts_ || acts_->B != B || acts_->S != S || (keep_all_layers && !acts_->keep_all_layers)) {
    acts_ = std::make_unique<Activations>(config_, B, S, keep_all_layers, release_arena(acts_));
  }
  Activations& a = *acts_;
  std::copy(in.input_ids.begin(), in.input_ids.end(), a.input_ids.begin());
  if (in.token_type_ids.empty())
    std::fill(a.token_type_ids.begin(), a.token_type_ids.end(), 0);
  else
    std::copy(in.token_type_ids.begin(), in.token_type_ids.end(), a.token_type_ids.begin());
  if (in.attention_mask.empty())
    std::fill(a.attention_mask.begin(), a.attention_mask.end(), 1);
  else
    std::copy(in.attention_mask.begin(), in.attention_mask.end(), a.attention_mask.begin());
  bert_forward(config_, weights_, a, drop);
  return a;
}

namespace {

Tensor copy_tensor(std::vector<std::int64_t> shape, const float* data) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return Tensor::from<float>(std::move(shape),
                             std::span<const float>(data, static_cast<std::size_t>(n)));
}

}  // namespace

ModelOutput Bert::forward(const ModelInput& in, const ForwardOptions& options) {
  Activations& a = run(in, options.output_attentions);
  const std::int64_t B = a.B, S = a.S, H = config_.hidden_size, L = config_.num_hidden_layers;
  const std::int64_t NH = config_.num_attention_heads;
  ModelOutput out;
  out.last_hidden_state = copy_tensor({B, S, H}, a.hidden[L]);
  out.pooler_output = copy_tensor({B, H}, a.pooled);
  if (options.output_hidden_states) {
    for (std::int64_t l = 0; l <= L; ++l)
      out.hidden_states.push_back(copy_tensor({B, S, H}, a.hidden[l]));
  }
  if (options.output_attentions) {
    for (std::int64_t l = 0; l < L; ++l) {
      out.attentions.push_back(copy_tensor({B, NH, S, S}, a.layer(l).probs));
    }
  }
  if (has_classifier()) {
    out.logits = copy_tensor({B, config_.num_labels()}, a.logits);
    if (!in.labels.empty() || !in.label_values.empty()) {
      out.loss = loss_forward(config_, a.logits, B, input_labels(in));
    }
  }
  return out;
}

void Bert::settle_problem_type() {
  // BertForSequenceClassification.forward records what the labels made of the task, and
  // save_pretrained then writes it into config.json.
  if (!config_.problem_type) {
    config_.problem_type = config_.num_labels() == 1 ? "regression" : "single_label_classification";
  }
}

float Bert::forward_backward(const ModelInput& in, LabelSpan labels, float* grads,
                             const BackwardOptions& options) {
  if (!grads) throw InvalidArgument("forward_backward: no gradient arena");
  check_labels(labels, in.batch_size);
  settle_problem_type();
  const DropoutMasks* drop = nullptr;
  if (dropout_enabled_ && any_dropout()) {
    check_input(in);  // before sizing the masks by the input's shape
    if (!drop_ || drop_->B != in.batch_size || drop_->S != in.seq_length) {
      drop_ = std::make_unique<DropoutMasks>(config_, in.batch_size, in.seq_length, false,
                                             release_storage(drop_));
    }
    drop_->sample(dropout_seed_, dropout_step_++, config_.hidden_size, config_.num_attention_heads);
    drop = drop_.get();
  }
  Activations& a = run(in, true, drop);
  if (!dacts_ || dacts_->B != a.B || dacts_->S != a.S) {
    dacts_ = std::make_unique<ActivationGrads>(config_, a.B, a.S, release_arena(dacts_));
  }
  const Weights g = bind_weights(grads, config_, layout_);
  return bert_backward(config_, weights_, g, a, *dacts_, labels, options, drop);
}

bool Bert::any_dropout() const {
  return config_.hidden_dropout_prob > 0 || config_.attention_probs_dropout_prob > 0 ||
         config_.classifier_dropout.value_or(0.0) > 0;
}

void Bert::check_pooled(std::span<const float> pooled, std::int64_t B, const char* what) const {
  if (!has_classifier()) {
    throw InvalidArgument(std::string(what) + ": BertModel has no classifier to run");
  }
  if (B <= 0 || pooled.size() != static_cast<std::size_t>(B * config_.hidden_size)) {
    throw InvalidArgument(std::string(what) + ": " + std::to_string(pooled.size()) +
                          " pooled values for a batch of " + std::to_string(B) +
                          " rows of hidden_size " + std::to_string(config_.hidden_size));
  }
}

Tensor Bert::pooled_output(const ModelInput& in) {
  const Activations& a = run(in, false);
  return copy_tensor({a.B, config_.hidden_size}, a.pooled);
}

ModelOutput Bert::forward_pooled(std::span<const float> pooled, std::int64_t B, LabelSpan labels) {
  check_pooled(pooled, B, "forward_pooled");
  if (!labels.empty()) check_labels(labels, B);
  const std::int64_t C = config_.num_labels();
  ModelOutput out;
  out.logits = Tensor(DType::kF32, {B, C});
  float* logits = out.logits.mutable_span<float>().data();
  classifier_forward(config_, weights_, pooled.data(), logits, B);
  // As forward() computes it, so that evaluation on cached features reports the same loss.
  if (!labels.empty()) out.loss = loss_forward(config_, logits, B, labels);
  return out;
}

float Bert::forward_backward_pooled(std::span<const float> pooled, std::int64_t B, LabelSpan labels,
                                    float* grads) {
  if (!grads) throw InvalidArgument("forward_backward_pooled: no gradient arena");
  check_pooled(pooled, B, "forward_backward_pooled");
  check_labels(labels, B);
  settle_problem_type();
  const DropoutMasks* drop = nullptr;
  // The step counter moves exactly as in forward_backward, so the two draw the same masks.
  if (dropout_enabled_ && any_dropout()) {
    if (!head_drop_ || head_drop_->B != B) {
      head_drop_ = std::make_unique<DropoutMasks>(config_, B, 1, /*classifier_only=*/true,
                                                  release_storage(head_drop_));
    }
    head_drop_->sample(dropout_seed_, dropout_step_++, config_.hidden_size,
                       config_.num_attention_heads);
    drop = head_drop_.get();
  }
  const auto n = static_cast<std::size_t>(B * config_.num_labels());
  head_logits_.resize(n);
  head_dlogits_.resize(n);
  classifier_forward(config_, weights_, pooled.data(), head_logits_.data(), B, drop);
  const float loss =
      loss_forward_backward(config_, head_logits_.data(), B, labels, head_dlogits_.data());
  const Weights g = bind_weights(grads, config_, layout_);
  classifier_backward(config_, weights_, g, pooled.data(), head_dlogits_.data(), nullptr, B, drop);
  return loss;
}

void Bert::set_dropout(bool enabled, std::uint64_t seed) {
  dropout_enabled_ = enabled;
  dropout_seed_ = seed;
  dropout_step_ = 0;
}

float* Bert::grads() {
  if (grads_.size() != layout_.total) grads_ = FloatArena(layout_.total);
  return grads_.data();
}

void Bert::zero_grad() {
  if (grads_.size() == layout_.total) std::fill(grads_.data(), grads_.data() + grads_.size(), 0.0f);
}

std::vector<ParameterSlice> Bert::parameter_slices() const {
  std::vector<ParameterSlice> slices;
  slices.reserve(layout_.tensors.size());
  for (const auto& t : layout_.tensors) slices.push_back({t.name, t.offset, t.numel, t.shape});
  return slices;
}

}  // namespace bertkit::model
