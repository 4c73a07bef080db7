// model.safetensors.index.json / pytorch_model.bin.index.json: {"metadata": {...},
// "weight_map": {"<tensor name>": "<shard file>", ...}}, as save_pretrained writes for large
// models.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace bertkit::io {

struct ShardIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::filesystem::path> shards;      // distinct shard paths, in name order
};

// Reads and validates the index: every shard is a plain file name inside `index_file`'s
// folder (no paths, so an index cannot point elsewhere) and exists. FormatError / IoError.
ShardIndex read_shard_index(const std::filesystem::path& index_file);

}  // namespace bertkit::io
