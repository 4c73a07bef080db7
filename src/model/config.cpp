#include "bertkit/config.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bertkit/error.h"

namespace bertkit {

using json = nlohmann::json;

namespace {

struct ActivationName {
  Activation act;
  std::string_view name;
};

// HF's ACT2FN spellings for the activations bertkit implements; "gelu_python" is HF's pure-Python
// erf GELU and "swish" its alias of SiLU, so both are the same functions here.
constexpr ActivationName kActivations[] = {
    {Activation::kGelu, "gelu"},        {Activation::kGelu, "gelu_python"},
    {Activation::kGeluNew, "gelu_new"}, {Activation::kGeluPytorchTanh, "gelu_pytorch_tanh"},
    {Activation::kRelu, "relu"},        {Activation::kSilu, "silu"},
    {Activation::kSilu, "swish"},
};

template <class T>
T get_field(const json& j, const char* key, std::string_view where) {
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw FormatError(std::string(where) + ": field \"" + key + "\" has a wrong type (" +
                      j.at(key).dump() + "): " + e.what());
  }
}

}  // namespace

Activation parse_activation(std::string_view name) {
  for (const auto& a : kActivations) {
    if (a.name == name) return a.act;
  }
  std::string supported;
  for (const auto& a : kActivations)
    supported += (supported.empty() ? "" : ", ") + std::string(a.name);
  throw InvalidArgument("hidden_act \"" + std::string(name) +
                        "\" is not supported by bertkit (supported: " + supported + ")");
}

std::string_view activation_name(Activation act) {
  for (const auto& a : kActivations) {
    if (a.act == act) return a.name;
  }
  return "gelu";
}

void BertConfig::set_num_labels(std::int64_t n) {
  if (n <= 0) throw InvalidArgument("num_labels must be positive, got " + std::to_string(n));
  id2label.clear();
  for (std::int64_t i = 0; i < n; ++i) id2label[i] = "LABEL_" + std::to_string(i);
}

std::map<std::string, std::int64_t> BertConfig::label2id() const {
  std::map<std::string, std::int64_t> out;
  for (const auto& [id, label] : id2label) out[label] = id;
  return out;
}

void BertConfig::validate() const {
  auto positive = [](std::int64_t v, const char* name) {
    if (v <= 0) {
      throw InvalidArgument(std::string("config: ") + name + " must be positive, got " +
                            std::to_string(v));
    }
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(intermediate_size, "intermediate_size");
  positive(max_position_embeddings, "max_position_embeddings");
  positive(type_vocab_size, "type_vocab_size");
  if (hidden_size % num_attention_heads != 0) {
    throw InvalidArgument("config: the hidden size (" + std::to_string(hidden_size) +
                          ") is not a multiple of the number of attention heads (" +
                          std::to_string(num_attention_heads) + ")");
  }
  if (position_embedding_type != "absolute") {
    throw InvalidArgument("config: position_embedding_type \"" + position_embedding_type +
                          "\" is not supported by bertkit (only \"absolute\")");
  }
  if (id2label.empty())
    throw InvalidArgument("config: id2label is empty (num_labels must be >= 1)");
  std::int64_t expect = 0;
  for (const auto& [id, label] : id2label) {
    if (id != expect++) {
      throw InvalidArgument("config: id2label ids must be 0..num_labels-1, found id " +
                            std::to_string(id));
    }
  }
  if (!(layer_norm_eps > 0)) throw InvalidArgument("config: layer_norm_eps must be positive");
  if (pad_token_id < 0 || pad_token_id >= vocab_size) {
    throw InvalidArgument("config: pad_token_id " + std::to_string(pad_token_id) +
                          " is outside the vocabulary (vocab_size " + std::to_string(vocab_size) +
                          ")");
  }
}

BertConfig BertConfig::from_json_string(std::string_view text, std::string_view where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(std::string(where) + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw FormatError(std::string(where) + ": top level is not a JSON object");

  BertConfig c;
  std::optional<std::int64_t> num_labels;
  bool have_id2label = false;
  for (const auto& [key, value] : j.items()) {
    const char* k = key.c_str();
    if (key == "vocab_size")
      c.vocab_size = get_field<std::int64_t>(j, k, where);
    else if (key == "hidden_size")
      c.hidden_size = get_field<std::int64_t>(j, k, where);
    else if (key == "num_hidden_layers")
      c.num_hidden_layers = get_field<std::int64_t>(j, k, where);
    else if (key == "num_attention_heads")
      c.num_attention_heads = get_field<std::int64_t>(j, k, where);
    else if (key == "intermediate_size")
      c.intermediate_size = get_field<std::int64_t>(j, k, where);
    else if (key == "hidden_act") {
      if (!value.is_string()) {
        throw InvalidArgument(std::string(where) +
                              ": hidden_act must be a string naming the "
                              "activation, got " +
                              value.dump());
      }
      c.hidden_act = parse_activation(value.get<std::string>());
    } else if (key == "hidden_dropout_prob")
      c.hidden_dropout_prob = get_field<double>(j, k, where);
    else if (key == "attention_probs_dropout_prob")
      c.attention_probs_dropout_prob = get_field<double>(j, k, where);
    else if (key == "max_position_embeddings")
      c.max_position_embeddings = get_field<std::int64_t>(j, k, where);
    else if (key == "type_vocab_size")
      c.type_vocab_size = get_field<std::int64_t>(j, k, where);
    else if (key == "initializer_range")
      c.initializer_range = get_field<double>(j, k, where);
    else if (key == "layer_norm_eps")
      c.layer_norm_eps = get_field<double>(j, k, where);
    else if (key == "pad_token_id") {
      c.pad_token_id = value.is_null() ? 0 : get_field<std::int64_t>(j, k, where);
    } else if (key == "position_embedding_type")
      c.position_embedding_type = get_field<std::string>(j, k, where);
    else if (key == "use_cache")
      c.use_cache = get_field<bool>(j, k, where);
    else if (key == "classifier_dropout") {
      if (value.is_null())
        c.classifier_dropout.reset();
      else
        c.classifier_dropout = get_field<double>(j, k, where);
    } else if (key == "id2label") {
      if (!value.is_object()) throw FormatError(std::string(where) + ": id2label is not an object");
      c.id2label.clear();
      for (const auto& [id, label] : value.items()) {
        std::int64_t n = 0;
        try {
          std::size_t used = 0;
          n = std::stoll(id, &used);
          if (used != id.size()) throw std::invalid_argument(id);
        } catch (const std::exception&) {
          throw FormatError(std::string(where) + ": id2label key \"" + id + "\" is not an integer");
        }
        if (!label.is_string())
          throw FormatError(std::string(where) + ": id2label[" + id + "] is not a string");
        c.id2label[n] = label.get<std::string>();
      }
      have_id2label = true;
    } else if (key == "label2id") {
      // Derived from id2label on write; HF also treats id2label as the source of truth.
    } else if (key == "num_labels")
      num_labels = get_field<std::int64_t>(j, k, where);
    else if (key == "problem_type") {
      if (value.is_null())
        c.problem_type.reset();
      else
        c.problem_type = get_field<std::string>(j, k, where);
    } else if (key == "architectures") {
      if (!value.is_null()) c.architectures = get_field<std::vector<std::string>>(j, k, where);
    } else if (key == "model_type")
      c.model_type = get_field<std::string>(j, k, where);
    else if (key == "torch_dtype") {
      if (value.is_null())
        c.torch_dtype.reset();
      else
        c.torch_dtype = get_field<std::string>(j, k, where);
    } else if (key == "transformers_version")
      c.transformers_version = get_field<std::string>(j, k, where);
    else if (key == "_name_or_path")
      c.name_or_path = get_field<std::string>(j, k, where);
    else
      c.extra[key] = value.dump();
  }
  // HF: an explicit num_labels that disagrees with id2label rebuilds id2label.
  if (num_labels && (!have_id2label || *num_labels != c.num_labels()))
    c.set_num_labels(*num_labels);
  try {
    c.validate();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(where) + ": " + e.what());
  }
  return c;
}

BertConfig BertConfig::from_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError("cannot open " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError("cannot read " + file.string());
  return from_json_string(ss.str(), file.string());
}

BertConfig BertConfig::from_pretrained(const std::filesystem::path& dir) {
  return from_json_file(dir / "config.json");
}

std::string BertConfig::to_json_string() const {
  json j = json::object();
  for (const auto& [key, text] : extra) j[key] = json::parse(text);
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["intermediate_size"] = intermediate_size;
  j["hidden_act"] = std::string(activation_name(hidden_act));
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  j["max_position_embeddings"] = max_position_embeddings;
  j["type_vocab_size"] = type_vocab_size;
  j["initializer_range"] = initializer_range;
  j["layer_norm_eps"] = layer_norm_eps;
  j["pad_token_id"] = pad_token_id;
  j["position_embedding_type"] = position_embedding_type;
  j["use_cache"] = use_cache;
  j["classifier_dropout"] = classifier_dropout ? json(*classifier_dropout) : json(nullptr);
  // Like HF's diff dict: the default two labels are not written.
  BertConfig defaults;
  if (id2label != defaults.id2label) {
    json i2l = json::object(), l2i = json::object();
    for (const auto& [id, label] : id2label) {
      i2l[std::to_string(id)] = label;
      l2i[label] = id;
    }
    j["id2label"] = i2l;
    j["label2id"] = l2i;
  }
  if (problem_type) j["problem_type"] = *problem_type;
  if (!architectures.empty()) j["architectures"] = architectures;
  j["model_type"] = model_type;
  if (torch_dtype) j["torch_dtype"] = *torch_dtype;
  j["transformers_version"] = transformers_version;
  if (name_or_path && !name_or_path->empty()) j["_name_or_path"] = *name_or_path;
  // nlohmann's object is a sorted map, which is HF's sort_keys=True.
  return j.dump(2) + "\n";
}

void BertConfig::save(const std::filesystem::path& file) const {
  const std::string text = to_json_string();
  auto tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot create " + tmp.string());
    out << text;
    out.flush();
    if (!out) throw IoError("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw IoError("cannot rename " + tmp.string() + " to " + file.string());
  }
}

BertConfig BertConfig::bert_base() { return BertConfig{}; }

}  // namespace bertkit
