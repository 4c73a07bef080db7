#include "hub/cache_layout.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>

#include "bertkit/error.h"
#include "hub/repo_id.h"
#include "core/sha256.h"

namespace bertkit::hub {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

fs::path home_dir() {
  if (auto home = env("HOME")) return *home;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  throw IoError("cannot find the home folder for the Hugging Face cache: set HF_HUB_CACHE");
}

std::string trim(std::string text) {
  const auto not_space = [](char c) { return c != ' ' && c != '\n' && c != '\r' && c != '\t'; };
  while (!text.empty() && !not_space(text.back())) text.pop_back();
  size_t start = 0;
  while (start < text.size() && !not_space(text[start])) ++start;
  return text.substr(start);
}

}  // namespace

fs::path expand_user(std::string_view path) {
  if (path == "~") return home_dir();
  if (path.starts_with("~/")) return home_dir() / fs::path(path.substr(2));
  return fs::path(path);
}

fs::path default_hf_home() {
  if (auto home = env("HF_HOME")) return expand_user(*home);
  if (auto xdg = env("XDG_CACHE_HOME")) return expand_user(*xdg) / "huggingface";
  return home_dir() / ".cache" / "huggingface";
}

fs::path default_hub_cache_dir() {
  if (auto cache = env("HF_HUB_CACHE")) return expand_user(*cache);
  if (auto legacy = env("HUGGINGFACE_HUB_CACHE")) return expand_user(*legacy);
  return default_hf_home() / "hub";
}

std::string safe_component(std::string_view name) {
  bool plain = !name.empty() && name.size() <= 200 && name != "." && name != "..";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    plain = plain && ok;
  }
  return plain ? std::string(name) : core::sha256_hex(name);
}

void write_file_atomically(const fs::path& path, std::string_view content) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path temp =
      path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw IoError("cannot write " + temp.string());
  }
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw IoError("cannot rename " + temp.string() + " to " + path.string() + ": " + ec.message());
  }
}

RepoCache::RepoCache(fs::path cache_dir, std::string_view repo_id)
    : cache_dir_(std::move(cache_dir)), folder_(repo_folder_name(repo_id)) {
  root_ = cache_dir_ / folder_;
}

fs::path RepoCache::blob(std::string_view etag) const {
  return root_ / "blobs" / safe_component(etag);
}

fs::path RepoCache::incomplete_blob(std::string_view etag) const {
  return root_ / "blobs" / (safe_component(etag) + ".incomplete");
}

fs::path RepoCache::snapshot_dir(std::string_view commit) const {
  return root_ / "snapshots" / safe_component(commit);
}

fs::path RepoCache::pointer(std::string_view commit, std::string_view filename) const {
  return snapshot_dir(commit) / fs::path(filename);
}

fs::path RepoCache::no_exist_marker(std::string_view commit, std::string_view filename) const {
  return root_ / ".no_exist" / safe_component(commit) / fs::path(filename);
}

fs::path RepoCache::ref(std::string_view revision) const {
  return root_ / "refs" / fs::path(revision);
}

fs::path RepoCache::lock_file(std::string_view etag) const {
  return cache_dir_ / ".locks" / folder_ / (safe_component(etag) + ".lock");
}

std::optional<std::string> RepoCache::resolve_revision(std::string_view revision) const {
  if (is_commit_hash(revision)) return std::string(revision);
  std::ifstream in(ref(revision), std::ios::binary);
  if (!in) return std::nullopt;
  std::string commit((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  commit = trim(std::move(commit));
  if (commit.empty()) return std::nullopt;
  return safe_component(commit);
}

void RepoCache::write_ref(std::string_view revision, std::string_view commit) const {
  if (revision == commit) return;  // a commit hash needs no ref, as in huggingface_hub
  if (resolve_revision(revision) == std::string(commit)) return;
  write_file_atomically(ref(revision), commit);
}

std::optional<fs::path> RepoCache::cached_file(std::string_view commit,
                                               std::string_view filename) const {
  auto path = pointer(commit, filename);
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;  // follows the symlink to the blob
  return std::nullopt;
}

bool RepoCache::known_absent(std::string_view commit, std::string_view filename) const {
  std::error_code ec;
  return fs::exists(no_exist_marker(commit, filename), ec);
}

void RepoCache::mark_absent(std::string_view commit, std::string_view filename) const {
  const auto marker = no_exist_marker(commit, filename);
  std::error_code ec;
  fs::create_directories(marker.parent_path(), ec);
  std::ofstream touch(marker, std::ios::binary | std::ios::app);
  // A marker is only an optimisation: failing to write it must not fail the load.
}

fs::path RepoCache::link_snapshot(std::string_view commit, std::string_view filename,
                                  std::string_view etag) const {
  static std::atomic<unsigned> counter{0};
  const auto path = pointer(commit, filename);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw IoError("cannot create " + path.parent_path().string() + ": " + ec.message());
  // Lexical relative target, as huggingface_hub's os.path.relpath: snapshots/{commit}/ is two
  // levels below the repo folder, plus one per folder inside the file name.
  fs::path target;
  const auto depth = std::count(filename.begin(), filename.end(), '/') + 2;
  for (long i = 0; i < depth; ++i) target /= "..";
  target = target / "blobs" / safe_component(etag);
  // Made under a temporary name and renamed over the pointer: another process (or thread)
  // linking the same file at the same time then cannot make this fail with "File exists".
  const fs::path temp =
      path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fs::create_symlink(target, temp, ec);
  if (ec) fs::copy_file(blob(etag), temp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw IoError("cannot place " + path.string() + " in the cache: " + ec.message());
  }
  return path;
}

}  // namespace bertkit::hub
