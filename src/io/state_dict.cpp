// load_state_dict: the weight files of a model folder, in from_pretrained's order of
// preference (safetensors before pickles, a single file before shards).
#include "bertkit/serialization.h"
#include "io/sharded_index.h"

namespace bertkit {

namespace {

using Loader = StateDict (*)(const std::filesystem::path&);

StateDict load_one_safetensors(const std::filesystem::path& file) { return load_safetensors(file); }

// Each shard must hold exactly the tensors the index assigns to it: a tensor in two shards, or
// one the index does not list where it says, means the folder is inconsistent.
StateDict load_shards(const std::filesystem::path& index_file, Loader load) {
  const auto index = io::read_shard_index(index_file);
  StateDict all;
  for (const auto& shard : index.shards) {
    const std::string shard_name = shard.filename().string();
    for (auto& [name, tensor] : load(shard)) {
      const auto listed = index.weight_map.find(name);
      if (listed == index.weight_map.end() || listed->second != shard_name) {
        throw FormatError(shard.string() + ": holds tensor '" + name + "', which " +
                          index_file.filename().string() +
                          (listed == index.weight_map.end() ? " does not list"
                                                            : " assigns to " + listed->second));
      }
      if (!all.emplace(name, std::move(tensor)).second) {
        throw FormatError(shard.string() + ": tensor '" + name + "' appears in two shards");
      }
    }
  }
  for (const auto& [name, shard] : index.weight_map) {
    if (!all.contains(name)) {
      throw FormatError(index_file.string() + ": tensor '" + name + "' is not in its shard " +
                        shard);
    }
  }
  return all;
}

}  // namespace

StateDict load_state_dict(const std::filesystem::path& model_dir) {
  if (!std::filesystem::is_directory(model_dir)) {
    throw IoError(model_dir.string() + " is not a folder (expected a model folder with weights)");
  }
  const auto in = [&](const char* name) { return model_dir / name; };
  if (std::filesystem::exists(in("model.safetensors"))) {
    return load_safetensors(in("model.safetensors"));
  }
  if (std::filesystem::exists(in("model.safetensors.index.json"))) {
    return load_shards(in("model.safetensors.index.json"), load_one_safetensors);
  }
  if (std::filesystem::exists(in("pytorch_model.bin"))) {
    return load_pytorch_bin(in("pytorch_model.bin"));
  }
  if (std::filesystem::exists(in("pytorch_model.bin.index.json"))) {
    return load_shards(in("pytorch_model.bin.index.json"), load_pytorch_bin);
  }
  throw IoError("no weights in " + model_dir.string() +
                ": looked for model.safetensors, model.safetensors.index.json, "
                "pytorch_model.bin and pytorch_model.bin.index.json");
}

}  // namespace bertkit
