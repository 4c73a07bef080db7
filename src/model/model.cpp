// The public model classes: thin wrappers over model::Bert.
#include "bertkit/model.h"

#include <algorithm>
#include <cmath>

#include "backend/ops.h"
#include "bertkit/error.h"
#include "model/bert.h"

namespace bertkit {

void set_num_threads(int n) { ops::set_num_threads(n); }
int num_threads() { return ops::num_threads(); }

// --- inputs ----------------------------------------------------------------------------------

ModelInput ModelInput::from_ids(const std::vector<std::vector<std::int32_t>>& rows,
                                std::int32_t pad_id) {
  ModelInput in;
  in.batch_size = static_cast<std::int64_t>(rows.size());
  std::size_t S = 0;
  for (const auto& r : rows) S = std::max(S, r.size());
  in.seq_length = static_cast<std::int64_t>(S);
  in.input_ids.assign(rows.size() * S, pad_id);
  in.attention_mask.assign(rows.size() * S, 0);
  for (std::size_t b = 0; b < rows.size(); ++b) {
    std::copy(rows[b].begin(), rows[b].end(), in.input_ids.begin() + b * S);
    std::fill_n(in.attention_mask.begin() + b * S, rows[b].size(), 1);
  }
  return in;
}

ModelInput ModelInput::from_batch(const BatchEncoding& batch, std::int32_t pad_id) {
  ModelInput in;
  in.batch_size = static_cast<std::int64_t>(batch.size());
  std::size_t S = 0;
  for (const auto& e : batch.encodings) S = std::max(S, e.size());
  in.seq_length = static_cast<std::int64_t>(S);
  in.input_ids.assign(batch.size() * S, pad_id);
  in.attention_mask.assign(batch.size() * S, 0);
  in.token_type_ids.assign(batch.size() * S, 0);
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const Encoding& e = batch[b];
    std::copy(e.input_ids.begin(), e.input_ids.end(), in.input_ids.begin() + b * S);
    if (e.attention_mask.size() == e.size()) {
      std::copy(e.attention_mask.begin(), e.attention_mask.end(),
                in.attention_mask.begin() + b * S);
    } else {
      std::fill_n(in.attention_mask.begin() + b * S, e.size(), 1);
    }
    if (e.token_type_ids.size() == e.size()) {
      std::copy(e.token_type_ids.begin(), e.token_type_ids.end(),
                in.token_type_ids.begin() + b * S);
    }
  }
  return in;
}

namespace {

std::vector<std::int32_t> int_values(const Tensor& t, const char* name) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(t.numel()));
  auto narrow = [&](auto span) {
    for (std::size_t i = 0; i < span.size(); ++i) {
      const auto v = span[i];
      if (v < INT32_MIN || v > INT32_MAX) {
        throw InvalidArgument(std::string("model input: ") + name + " value " + std::to_string(v) +
                              " does not fit a token id");
      }
      out[i] = static_cast<std::int32_t>(v);
    }
  };
  switch (t.dtype()) {
    case DType::kI64:
      narrow(t.span<std::int64_t>());
      break;
    case DType::kI32:
      narrow(t.span<std::int32_t>());
      break;
    case DType::kU8:
      narrow(t.span<std::uint8_t>());
      break;
    case DType::kBool:
    case DType::kI8:
    case DType::kI16: {
      const auto* p = t.data();
      const std::size_t sz = dtype_size(t.dtype());
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (sz == 1)
          out[i] = static_cast<std::int8_t>(p[i]);
        else
          out[i] = static_cast<std::int16_t>(std::uint16_t(p[2 * i]) |
                                             (std::uint16_t(p[2 * i + 1]) << 8));
      }
      if (t.dtype() == DType::kBool) {
        for (auto& v : out) v = v ? 1 : 0;
      }
      break;
    }
    default:
      throw InvalidArgument(std::string("model input: ") + name + " has dtype " +
                            std::string(dtype_name(t.dtype())) + ", expected an integer type");
  }
  return out;
}

}  // namespace

ModelInput ModelInput::from_tensors(const Tensor& input_ids, const Tensor& attention_mask,
                                    const Tensor& token_type_ids) {
  if (input_ids.rank() != 2) {
    throw InvalidArgument("model input: input_ids must be [batch, sequence], got " +
                          input_ids.shape_string());
  }
  ModelInput in;
  in.batch_size = input_ids.dim(0);
  in.seq_length = input_ids.dim(1);
  in.input_ids = int_values(input_ids, "input_ids");
  auto optional = [&](const Tensor& t, const char* name, std::vector<std::int32_t>& dst) {
    if (t.empty() && t.shape().empty()) return;
    if (t.shape() != input_ids.shape()) {
      throw InvalidArgument(std::string("model input: ") + name + " has shape " + t.shape_string() +
                            " but input_ids has " + input_ids.shape_string());
    }
    dst = int_values(t, name);
  };
  optional(attention_mask, "attention_mask", in.attention_mask);
  optional(token_type_ids, "token_type_ids", in.token_type_ids);
  return in;
}

// --- BertModel -------------------------------------------------------------------------------

BertModel::BertModel(std::unique_ptr<model::Bert> net) : net_(std::move(net)) {}
BertModel::BertModel(BertModel&&) noexcept = default;
BertModel& BertModel::operator=(BertModel&&) noexcept = default;
BertModel::~BertModel() = default;

BertModel BertModel::from_state_dict(const BertConfig& config, const StateDict& weights,
                                     const LoadOptions& options, std::string_view source) {
  auto net = std::make_unique<model::Bert>(config, false);
  net->load_state_dict(weights, options, source);
  return BertModel(std::move(net));
}

BertModel BertModel::init(const BertConfig& config, std::uint64_t seed) {
  auto net = std::make_unique<model::Bert>(config, false);
  net->init_weights(seed);
  return BertModel(std::move(net));
}

ModelOutput BertModel::forward(const ModelInput& input, const ForwardOptions& options) {
  return net_->forward(input, options);
}
ModelOutput BertModel::forward(const BatchEncoding& batch, const ForwardOptions& options) {
  return net_->forward(
      ModelInput::from_batch(batch, static_cast<std::int32_t>(config().pad_token_id)), options);
}
ModelOutput BertModel::forward(const Tensor& input_ids, const Tensor& attention_mask,
                               const Tensor& token_type_ids, const ForwardOptions& options) {
  return net_->forward(ModelInput::from_tensors(input_ids, attention_mask, token_type_ids),
                       options);
}

const BertConfig& BertModel::config() const { return net_->config(); }
std::int64_t BertModel::num_parameters() const { return net_->layout().total; }
StateDict BertModel::state_dict() const { return net_->state_dict(); }
void BertModel::save_pretrained(const std::filesystem::path& dir) const {
  net_->save_pretrained(dir);
}

// --- BertForSequenceClassification -----------------------------------------------------------

BertForSequenceClassification::BertForSequenceClassification(std::unique_ptr<model::Bert> net)
    : net_(std::move(net)) {}
BertForSequenceClassification::BertForSequenceClassification(
    BertForSequenceClassification&&) noexcept = default;
BertForSequenceClassification& BertForSequenceClassification::operator=(
    BertForSequenceClassification&&) noexcept = default;
BertForSequenceClassification::~BertForSequenceClassification() = default;

BertForSequenceClassification BertForSequenceClassification::from_state_dict(
    const BertConfig& config, const StateDict& weights, const LoadOptions& options,
    std::string_view source) {
  BertConfig c = config;
  if (options.num_labels) c.set_num_labels(*options.num_labels);
  auto net = std::make_unique<model::Bert>(c, true);
  net->load_state_dict(weights, options, source);
  return BertForSequenceClassification(std::move(net));
}

BertForSequenceClassification BertForSequenceClassification::init(const BertConfig& config,
                                                                  std::uint64_t seed) {
  auto net = std::make_unique<model::Bert>(config, true);
  net->init_weights(seed);
  return BertForSequenceClassification(std::move(net));
}

ModelOutput BertForSequenceClassification::forward(const ModelInput& input,
                                                   const ForwardOptions& options) {
  return net_->forward(input, options);
}
ModelOutput BertForSequenceClassification::forward(const BatchEncoding& batch,
                                                   const ForwardOptions& options) {
  return net_->forward(
      ModelInput::from_batch(batch, static_cast<std::int32_t>(config().pad_token_id)), options);
}
ModelOutput BertForSequenceClassification::forward(const Tensor& input_ids,
                                                   const Tensor& attention_mask,
                                                   const Tensor& token_type_ids,
                                                   const ForwardOptions& options) {
  return net_->forward(ModelInput::from_tensors(input_ids, attention_mask, token_type_ids),
                       options);
}

Tensor BertForSequenceClassification::probabilities(const Tensor& logits) {
  if (logits.rank() != 2) {
    throw InvalidArgument("probabilities: logits must be [batch, num_labels], got " +
                          logits.shape_string());
  }
  Tensor f = logits.dtype() == DType::kF32 ? logits : logits.to_f32();
  Tensor out(DType::kF32, logits.shape());
  ops::softmax_forward(out.mutable_span<float>().data(), f.span<float>().data(), logits.dim(0),
                       logits.dim(1));
  return out;
}

const std::string& BertForSequenceClassification::id2label(std::int64_t id) const {
  auto it = config().id2label.find(id);
  if (it == config().id2label.end()) {
    throw InvalidArgument("id2label: no label " + std::to_string(id) + " (num_labels " +
                          std::to_string(num_labels()) + ")");
  }
  return it->second;
}

float BertForSequenceClassification::train_step_forward_backward(const ModelInput& input,
                                                                 LabelSpan labels) {
  return net_->forward_backward(input, labels, net_->grads(), {.freeze_bert = freeze_bert_});
}

Tensor BertForSequenceClassification::pooler_output(const ModelInput& input) {
  return net_->pooled_output(input);
}

ModelOutput BertForSequenceClassification::forward_pooled(std::span<const float> pooler_output,
                                                          std::int64_t batch_size,
                                                          LabelSpan labels) {
  return net_->forward_pooled(pooler_output, batch_size, labels);
}

float BertForSequenceClassification::train_step_forward_backward_pooled(
    std::span<const float> pooler_output, std::int64_t batch_size, LabelSpan labels) {
  return net_->forward_backward_pooled(pooler_output, batch_size, labels, net_->grads());
}

void BertForSequenceClassification::zero_grad() { net_->zero_grad(); }

std::span<float> BertForSequenceClassification::parameters() {
  return {net_->params(), static_cast<std::size_t>(net_->layout().total)};
}

std::span<float> BertForSequenceClassification::gradients() {
  return {net_->grads(), static_cast<std::size_t>(net_->layout().total)};
}

std::vector<ParameterSlice> BertForSequenceClassification::parameter_slices() const {
  return net_->parameter_slices();
}

void BertForSequenceClassification::set_training(bool training, std::uint64_t dropout_seed) {
  net_->set_dropout(training, dropout_seed);
  training_ = training;
}

std::int64_t BertForSequenceClassification::num_labels() const { return config().num_labels(); }
const BertConfig& BertForSequenceClassification::config() const { return net_->config(); }
std::int64_t BertForSequenceClassification::num_parameters() const { return net_->layout().total; }
StateDict BertForSequenceClassification::state_dict() const { return net_->state_dict(); }
void BertForSequenceClassification::save_pretrained(const std::filesystem::path& dir) const {
  net_->save_pretrained(dir);
}

}  // namespace bertkit
