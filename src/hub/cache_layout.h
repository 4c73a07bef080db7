// The Hugging Face hub cache, laid out exactly as huggingface_hub 0.24 does so that Python and
// bertkit share one cache:
//
//   {cache}/models--{org}--{name}/
//     refs/{revision}                       the commit hash that revision pointed to (no newline)
//     blobs/{etag}                          file contents, named by ETag (git sha1 or LFS sha256)
//     blobs/{etag}.incomplete               a download in progress (resumable)
//     snapshots/{commit}/{filename}         relative symlink to ../../blobs/{etag} (or a plain
//     file) .no_exist/{commit}/{filename}         empty marker: the repo has no such file at that
//     commit
//   {cache}/.locks/models--{org}--{name}/{etag}.lock
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace bertkit::hub {

// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub ('~' expanded).
std::filesystem::path default_hub_cache_dir();
// $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::filesystem::path default_hf_home();
// "~" or "~/x" -> $HOME or $HOME/x; anything else unchanged.
std::filesystem::path expand_user(std::string_view path);

// A name the server chose (ETag, commit) made safe to use as one path component: kept when it is
// plain, else replaced by its SHA-256 so a hostile header cannot write outside the cache.
std::string safe_component(std::string_view name);

class RepoCache {
 public:
  RepoCache(std::filesystem::path cache_dir, std::string_view repo_id);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path blob(std::string_view etag) const;
  std::filesystem::path incomplete_blob(std::string_view etag) const;
  std::filesystem::path snapshot_dir(std::string_view commit) const;
  std::filesystem::path pointer(std::string_view commit, std::string_view filename) const;
  std::filesystem::path no_exist_marker(std::string_view commit, std::string_view filename) const;
  std::filesystem::path ref(std::string_view revision) const;
  std::filesystem::path lock_file(std::string_view etag) const;

  // The commit a branch or tag name was last seen at; a commit hash resolves to itself.
  std::optional<std::string> resolve_revision(std::string_view revision) const;
  void write_ref(std::string_view revision, std::string_view commit) const;

  // The snapshot file when it is there and readable (a dangling symlink does not count).
  std::optional<std::filesystem::path> cached_file(std::string_view commit,
                                                   std::string_view filename) const;
  bool known_absent(std::string_view commit, std::string_view filename) const;
  void mark_absent(std::string_view commit, std::string_view filename) const;

  // snapshots/{commit}/{filename} -> relative symlink to blobs/{etag}; a copy where the file
  // system has no symlinks. Replaces whatever pointer was there.
  std::filesystem::path link_snapshot(std::string_view commit, std::string_view filename,
                                      std::string_view etag) const;

 private:
  std::filesystem::path cache_dir_;
  std::filesystem::path root_;
  std::string folder_;
};

// Writes `content` to `path` through a temporary file and a rename, so readers never see half.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace bertkit::hub
