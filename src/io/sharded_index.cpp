#include "io/sharded_index.h"

#include <nlohmann/json.hpp>
#include <set>

#include "bertkit/error.h"
#include "io/text_file.h"

namespace bertkit::io {

ShardIndex read_shard_index(const std::filesystem::path& index_file) {
  const std::string text = io::read_text_file(index_file);

  const std::string source = index_file.string();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(source + ": not valid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw FormatError(source + ": no \"weight_map\" object");
  }
  ShardIndex out;
  std::set<std::string> shard_names;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw FormatError(source + ": weight_map entry '" + name + "' is not a file name");
    }
    const std::string file = shard.get<std::string>();
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
        file.find('\\') != std::string::npos || file.find('\0') != std::string::npos) {
      throw FormatError(source + ": weight_map entry '" + name + "' names \"" + file +
                        "\", which is not a file name in the model folder");
    }
    out.weight_map.emplace(name, file);
    shard_names.insert(file);
  }
  if (out.weight_map.empty()) throw FormatError(source + ": the weight_map is empty");
  for (const auto& file : shard_names) {
    const auto path = index_file.parent_path() / file;
    if (!std::filesystem::is_regular_file(path)) {
      throw IoError(source + " lists shard " + file + ", which is missing (" + path.string() + ")");
    }
    out.shards.push_back(path);
  }
  return out;
}

}  // namespace bertkit::io
