// HubOptions::from_env: the environment variables huggingface_hub 0.24 reads, with its defaults.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "bertkit/error.h"
#include "bertkit/hub.h"
#include "hub/cache_layout.h"

namespace bertkit {

namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// huggingface_hub's _is_true: "1", "ON", "YES", "TRUE" in any case.
bool env_flag(const char* name) {
  auto value = env(name);
  if (!value) return false;
  for (char& c : *value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return *value == "1" || *value == "ON" || *value == "YES" || *value == "TRUE";
}

long env_seconds(const char* name, long fallback) {
  auto value = env(name);
  if (!value) return fallback;
  char* end = nullptr;
  const double seconds = std::strtod(value->c_str(), &end);
  if (end == value->c_str() || *end != '\0' || !(seconds > 0) || seconds > 1e6) {
    throw InvalidArgument(std::string("environment variable ") + name + "='" + *value +
                          "' is not a positive number of seconds");
  }
  return std::max(1L, static_cast<long>(seconds + 0.5));
}

std::string trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// $HF_TOKEN, else the legacy $HUGGING_FACE_HUB_TOKEN, else the file `huggingface-cli login`
// writes ($HF_TOKEN_PATH, else $HF_HOME/token).
std::optional<std::string> find_token() {
  if (auto token = env("HF_TOKEN")) return trim(*token);
  if (auto token = env("HUGGING_FACE_HUB_TOKEN")) return trim(*token);
  std::filesystem::path path;
  if (auto explicit_path = env("HF_TOKEN_PATH")) {
    path = hub::expand_user(*explicit_path);
  } else {
    try {
      path = hub::default_hf_home() / "token";
    } catch (const IoError&) {
      return std::nullopt;  // no home folder: no stored token either
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string token = trim(std::string(std::istreambuf_iterator<char>(in), {}));
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace

HubOptions HubOptions::from_env() {
  HubOptions options;
  if (auto endpoint = env("HF_ENDPOINT")) options.endpoint = *endpoint;
  while (options.endpoint.ends_with('/')) options.endpoint.pop_back();
  options.cache_dir = hub::default_hub_cache_dir();
  options.offline = env_flag("HF_HUB_OFFLINE") || env_flag("TRANSFORMERS_OFFLINE");
  options.token = find_token();
  if (options.token && options.token->empty()) options.token.reset();
  options.progress = !env_flag("HF_HUB_DISABLE_PROGRESS_BARS");
  options.etag_timeout_s = env_seconds("HF_HUB_ETAG_TIMEOUT", options.etag_timeout_s);
  options.download_timeout_s = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", options.download_timeout_s);
  return options;
}

}  // namespace bertkit
