// BertConfig: the fields of transformers' `BertConfig` (config.json), with HF's names and
// defaults. Read with `from_json_file`, written back with `save` -- keys bertkit does not know are
// kept and written back unchanged, so a config survives a round trip through bertkit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bertkit {

// `hidden_act`. Only activations BERT checkpoints use; anything else is refused when read.
enum class Activation { kGelu, kGeluNew, kGeluPytorchTanh, kRelu, kSilu };

Activation parse_activation(std::string_view name);  // InvalidArgument naming the supported ones
std::string_view activation_name(Activation act);

struct BertConfig {
  std::int64_t vocab_size = 30522;
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  Activation hidden_act = Activation::kGelu;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  bool use_cache = true;
  std::optional<double> classifier_dropout;  // null: hidden_dropout_prob is used

  // PretrainedConfig fields. id2label fixes num_labels (HF default: 2 labels LABEL_0, LABEL_1).
  std::map<std::int64_t, std::string> id2label = {{0, "LABEL_0"}, {1, "LABEL_1"}};
  std::optional<std::string> problem_type;  // "single_label_classification", ...
  std::vector<std::string> architectures;
  std::string model_type = "bert";
  std::optional<std::string> torch_dtype;
  std::string transformers_version = "4.44.2";
  std::optional<std::string> name_or_path;  // `_name_or_path`

  // Every other key of config.json, as JSON text, written back as it was read.
  std::map<std::string, std::string> extra;

  std::int64_t num_labels() const { return static_cast<std::int64_t>(id2label.size()); }
  // Resets id2label to LABEL_0..LABEL_{n-1} (HF's `num_labels=` argument).
  void set_num_labels(std::int64_t n);
  std::int64_t head_size() const { return hidden_size / num_attention_heads; }
  std::map<std::string, std::int64_t> label2id() const;

  // Throws InvalidArgument saying which field is wrong (hidden_size % heads, sizes <= 0,
  // position_embedding_type other than "absolute", ...).
  void validate() const;

  static BertConfig from_json_string(std::string_view json, std::string_view where = "config");
  static BertConfig from_json_file(const std::filesystem::path& file);
  // From a model folder (its config.json).
  static BertConfig from_pretrained(const std::filesystem::path& dir);
  std::string to_json_string() const;  // sorted keys, 2-space indent, like save_pretrained
  void save(const std::filesystem::path& file) const;  // atomic write
  // bert-base-uncased's shape (the defaults above).
  static BertConfig bert_base();
  // The shapes of Google's small BERTs (bert_uncased_L-4_H-256_A-4, L-2_H-128_A-2), with
  // bert-base's vocabulary (30522) and 512 positions.
  static BertConfig bert_mini();  // 4 layers, hidden 256, 4 heads, intermediate 1024
  static BertConfig bert_tiny();  // 2 layers, hidden 128, 2 heads, intermediate 512
  // "bert-base", "bert-mini", "bert-tiny" ('_' for '-' accepted); InvalidArgument listing them.
  static BertConfig preset(std::string_view name);
};

}  // namespace bertkit
