// from_pretrained: folder or hub name -> config.json + weights -> model.
#include <filesystem>

#include "bertkit/error.h"
#include "bertkit/hub.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "model/bert.h"

namespace bertkit {

namespace model {

std::filesystem::path resolve_model_dir(std::string_view name_or_path) {
  const std::filesystem::path p{std::string(name_or_path)};
  if (std::filesystem::is_directory(p)) return p;
  // Not a folder: a hub repo id (org/name), looked up in the HF cache or downloaded.
  return resolve_model(name_or_path);
}

}  // namespace model

BertModel BertModel::from_pretrained(std::string_view name_or_path, const LoadOptions& options) {
  const auto dir = model::resolve_model_dir(name_or_path);
  BertConfig config = BertConfig::from_pretrained(dir);
  config.name_or_path = std::string(name_or_path);
  return from_state_dict(config, load_state_dict(dir), options, std::string(name_or_path));
}

BertForSequenceClassification BertForSequenceClassification::from_pretrained(
    std::string_view name_or_path, const LoadOptions& options) {
  const auto dir = model::resolve_model_dir(name_or_path);
  BertConfig config = BertConfig::from_pretrained(dir);
  config.name_or_path = std::string(name_or_path);
  return from_state_dict(config, load_state_dict(dir), options, std::string(name_or_path));
}

}  // namespace bertkit
