// What `embed` and `predict` share: resolving --model, reading the texts, tokenizing them like
// `tokenizer(texts, padding=True, truncation=True, max_length=N)`, and the --input-ids file.
#pragma once

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bertkit/config.h"
#include "bertkit/error.h"
#include "bertkit/hub.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "bertkit/tokenizer.h"

namespace bertkit::cli {

inline std::filesystem::path model_folder(const std::string& name_or_path) {
  if (std::filesystem::is_directory(name_or_path)) return name_or_path;
  return resolve_model(name_or_path);
}

// Texts from the command line, else one per line of stdin.
inline std::vector<std::string> read_texts(std::vector<std::string> texts) {
  if (!texts.empty()) return texts;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    texts.push_back(line);
  }
  if (texts.empty()) throw InvalidArgument("no input: give texts as arguments or lines on stdin");
  return texts;
}

// --max-length: 0 means min(512, max_position_embeddings); more than the model's positions is
// an error, as the model cannot take it.
inline std::size_t resolve_max_length(std::size_t requested, const BertConfig& config) {
  const auto positions = static_cast<std::size_t>(config.max_position_embeddings);
  const std::size_t max_length = requested > 0 ? requested : std::min<std::size_t>(512, positions);
  if (max_length > positions) {
    throw InvalidArgument("--max-length " + std::to_string(max_length) +
                          " exceeds the model's max_position_embeddings " +
                          std::to_string(positions));
  }
  return max_length;
}

inline ModelInput tokenize_for(const std::filesystem::path& dir, const BertConfig& config,
                               const std::vector<std::string>& texts, std::size_t max_length) {
  max_length = resolve_max_length(max_length, config);
  const BertTokenizer tokenizer = BertTokenizer::from_pretrained(dir);
  EncodeOptions options;
  options.padding = Padding::kLongest;
  options.truncation = Truncation::kLongestFirst;
  options.max_length = max_length;
  return ModelInput::from_batch(tokenizer.encode_batch(texts, options),
                                static_cast<std::int32_t>(config.pad_token_id));
}

// input_ids / attention_mask / token_type_ids (I64 [B, S]) from a safetensors file, the layout
// of shared/golden/models/*/outputs.safetensors.
inline ModelInput read_input_ids(const std::filesystem::path& file) {
  const StateDict sd = load_safetensors(file);
  auto it = sd.find("input_ids");
  if (it == sd.end()) throw FormatError(file.string() + ": no tensor named input_ids");
  auto get = [&](const char* name) {
    auto i = sd.find(name);
    return i == sd.end() ? Tensor() : i->second;
  };
  return ModelInput::from_tensors(it->second, get("attention_mask"), get("token_type_ids"));
}

// What embed and predict run on: the --input-ids file when given, else the texts (arguments or
// stdin lines), tokenized. `texts` receives the texts (empty for --input-ids), for printing.
inline ModelInput read_model_input(const std::filesystem::path& dir, const BertConfig& config,
                                   const std::string& input_ids_file,
                                   const std::vector<std::string>& text_args,
                                   std::size_t max_length, std::vector<std::string>& texts) {
  if (!input_ids_file.empty()) return read_input_ids(input_ids_file);
  texts = read_texts(text_args);
  return tokenize_for(dir, config, texts, max_length);
}

inline bool has_classifier_architecture(const BertConfig& config) {
  return std::find(config.architectures.begin(), config.architectures.end(),
                   "BertForSequenceClassification") != config.architectures.end();
}

}  // namespace bertkit::cli
