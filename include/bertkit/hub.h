// Resolving `bert-base-uncased` / `org/name` like `from_pretrained`: the Hugging Face cache first
// ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub; layout
// models--org--name/snapshots/<commit>/), else a download over HTTPS from $HF_ENDPOINT.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bertkit {

struct HubOptions {
  std::string endpoint = "https://huggingface.co";  // $HF_ENDPOINT
  std::filesystem::path cache_dir;                  // resolved hub cache folder
  std::string revision = "main";
  bool offline = false;              // $HF_HUB_OFFLINE=1
  std::optional<std::string> token;  // $HF_TOKEN (sent as a Bearer token)
  bool progress = true;              // progress bar on stderr while downloading
                                     // ($HF_HUB_DISABLE_PROGRESS_BARS=1: off)
  long etag_timeout_s = 10;          // $HF_HUB_ETAG_TIMEOUT: the HEAD check
  long download_timeout_s = 10;      // $HF_HUB_DOWNLOAD_TIMEOUT: a stalled GET

  // The defaults above, overridden by the environment variables named beside each field.
  static HubOptions from_env();
};

// A local folder is returned as it is. Otherwise `name_or_path` is a hub repo id: the snapshot
// folder holding config.json, the tokenizer files and the weights is returned, downloading
// what is missing (resumable, atomic: temporary file then rename). Throws IoError with a clear
// message when offline and not cached, or when the server refuses.
std::filesystem::path resolve_model(std::string_view name_or_path,
                                    const HubOptions& options = HubOptions::from_env());

// One file of a repo (`hf_hub_download`): cached path, downloading it if needed. Returns
// nullopt when the repo does not have the file (HTTP 404) -- optional files are skipped.
std::optional<std::filesystem::path> hub_download(
    std::string_view repo_id, std::string_view filename,
    const HubOptions& options = HubOptions::from_env());

}  // namespace bertkit
