// Fetching one blob into the cache: blobs/{etag}.incomplete is written (continuing a partial
// file with "Range: bytes=N-"), a broken connection is retried a few times with a resume, and
// the finished file is checked against the announced size and renamed into place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace bertkit::hub {

class HttpClient;

struct BlobRequest {
  std::string url;                       // where the bytes are (after the hub's redirect)
  std::string display_name;              // for the progress bar and messages
  std::optional<int64_t> expected_size;  // X-Linked-Size / Content-Length, when announced
  std::filesystem::path incomplete;      // blobs/{etag}.incomplete
  std::filesystem::path blob;            // blobs/{etag}
  bool progress = true;
  bool send_token = true;  // false when `url` is on another host than the hub
};

enum class BlobResult { kDownloaded, kNotFound };

// Throws IoError on a refusal (401/403 mention HF_TOKEN), another HTTP error, a transfer that
// keeps failing, or a size mismatch.
BlobResult download_blob(HttpClient& client, const BlobRequest& request);

}  // namespace bertkit::hub

namespace bertkit::hub {

struct HttpResult;

// The IoError for a non-2xx hub response: 401/403 explain HF_TOKEN (and RepoNotFound / gated
// repos), anything else names the status and the URL, with the hub's X-Error-Message if any.
std::string describe_http_error(const HttpResult& result, const std::string& url, bool token_sent);

}  // namespace bertkit::hub
