// resolve_model: the files from_pretrained needs, in one snapshot folder of the cache.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "bertkit/error.h"
#include "bertkit/hub.h"
#include "hub/cache_layout.h"
#include "hub/downloader.h"
#include "hub/repo_id.h"

namespace bertkit {

namespace fs = std::filesystem;

namespace {

// Loaded by BertTokenizer / PreTrainedTokenizerFast when present; none is required.
constexpr const char* kTokenizerFiles[] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json", "added_tokens.json"};

// transformers' order of preference: safetensors before pickles, one file before shards.
constexpr const char* kWeightFiles[] = {"model.safetensors", "model.safetensors.index.json",
                                        "pytorch_model.bin", "pytorch_model.bin.index.json"};

std::vector<std::string> shard_names(const fs::path& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  if (!in) throw IoError("cannot open " + index_path.string());
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(index_path.string() + " is not valid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw FormatError(index_path.string() + " has no \"weight_map\" object");
  }
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw FormatError(index_path.string() + ": weight_map[\"" + tensor +
                        "\"] is not a file name");
    }
    shards.insert(shard.get<std::string>());
  }
  if (shards.empty()) throw FormatError(index_path.string() + " has an empty weight_map");
  return {shards.begin(), shards.end()};
}

// Fetches the first weights candidate the repo has (and its shards) into the snapshot. Throws
// when it has none, or when the one it has cannot be had (offline and not cached, refused).
void fetch_weights(hub::Downloader& downloader, std::string_view repo_id,
                   const std::string& commit) {
  std::string unavailable;
  for (const char* name : kWeightFiles) {
    const auto lookup = downloader.fetch(repo_id, name, commit);
    if (lookup.status == hub::FileStatus::kAbsent) continue;
    if (lookup.status == hub::FileStatus::kUnavailable) {
      if (unavailable.empty()) unavailable = lookup.reason;
      continue;
    }
    if (!std::string_view(name).ends_with(".index.json")) return;
    for (const auto& shard : shard_names(lookup.path)) {
      hub::validate_repo_filename(shard);
      const auto part = downloader.fetch(repo_id, shard, commit);
      if (part.status == hub::FileStatus::kAbsent) {
        throw IoError(std::string(name) + " of " + std::string(repo_id) + " lists shard '" + shard +
                      "', which the repo does not have");
      }
      if (part.status == hub::FileStatus::kUnavailable) throw IoError(part.reason);
    }
    return;
  }
  if (!unavailable.empty()) throw IoError(unavailable);
  throw IoError(std::string(repo_id) +
                " has no weights: none of model.safetensors, model.safetensors.index.json, "
                "pytorch_model.bin, pytorch_model.bin.index.json");
}

}  // namespace

fs::path resolve_model(std::string_view name_or_path, const HubOptions& options) {
  const fs::path local =
      name_or_path.starts_with('~') ? hub::expand_user(name_or_path) : fs::path(name_or_path);
  std::error_code ec;
  if (!name_or_path.empty() && fs::is_directory(local, ec)) return local;
  if (!name_or_path.empty() && fs::exists(local, ec)) {
    throw IoError(local.string() +
                  " is a file; expected a model folder (with config.json) or a hub repo id");
  }
  if (hub::looks_like_path(name_or_path)) {
    throw IoError("no such folder: " + local.string() +
                  " (a path that does not exist; a hub repo id looks like 'name' or 'org/name')");
  }
  hub::validate_repo_id(name_or_path);

  hub::Downloader downloader(options);
  // Only config.json is checked against the hub; the other files are then asked for at the
  // commit it resolved to, which is what transformers does and costs no request when cached.
  const auto config = downloader.fetch(name_or_path, "config.json", options.revision);
  if (config.status == hub::FileStatus::kUnavailable) throw IoError(config.reason);
  if (config.status == hub::FileStatus::kAbsent) {
    throw IoError(std::string(name_or_path) + " has no config.json at revision '" +
                  options.revision + "'; it is not a transformers model repo");
  }
  for (const char* name : kTokenizerFiles) {
    // Optional: absent or (offline, network down) not cached files are simply skipped.
    downloader.fetch(name_or_path, name, config.commit);
  }
  fetch_weights(downloader, name_or_path, config.commit);
  return config.path.parent_path();
}

}  // namespace bertkit
