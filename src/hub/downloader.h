// The engine behind hub_download and resolve_model: one file of one repo at one revision, from
// the cache or the network, following huggingface_hub 0.24's `hf_hub_download`:
//   1. a commit-hash revision already in the cache needs no network at all;
//   2. offline: refs/{revision} -> snapshots/{commit}/{filename}, or nothing;
//   3. online: a HEAD request gives the commit (X-Repo-Commit), the blob name (X-Linked-Etag or
//      ETag), the size and the download location; when it fails (network down, 5xx, 401/403)
//      the cached copy is used with a warning;
//   4. the blob is fetched into blobs/{etag}.incomplete (resuming with Range, retrying a broken
//      connection), checked against the announced size, renamed, and linked from the snapshot.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "bertkit/hub.h"

namespace bertkit::hub {

class HttpClient;

enum class FileStatus {
  kFound,        // `path` holds the file
  kAbsent,       // the repo does not have it (HTTP 404 or a .no_exist marker)
  kUnavailable,  // not cached and the network may not or could not be used; see `reason`
};

struct FileLookup {
  FileStatus status = FileStatus::kUnavailable;
  std::filesystem::path path;
  std::string commit;  // the snapshot it belongs to, when known
  std::string reason;
};

class Downloader {
 public:
  explicit Downloader(HubOptions options);
  ~Downloader();
  Downloader(const Downloader&) = delete;
  Downloader& operator=(const Downloader&) = delete;

  // Throws IoError when the server refuses (401/403 without a cached copy, an unknown repo or
  // revision, a failed download) and InvalidArgument for a bad repo id, revision or file name.
  FileLookup fetch(std::string_view repo_id, std::string_view filename, std::string_view revision);

  const HubOptions& options() const { return options_; }

 private:
  HttpClient& client();

  HubOptions options_;
  std::unique_ptr<HttpClient> client_;  // created on first network use, then reused
};

// "bertkit: warning: ..." on stderr.
void warn(const std::string& message);

}  // namespace bertkit::hub
