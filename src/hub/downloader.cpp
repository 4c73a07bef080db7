#include "hub/downloader.h"

#include <cstdio>
#include <utility>

#include "bertkit/error.h"
#include "hub/blob_download.h"
#include "hub/cache_layout.h"
#include "hub/file_lock.h"
#include "hub/http_client.h"
#include "hub/repo_id.h"
#include "core/sha256.h"

namespace bertkit::hub {

namespace {

constexpr int kMaxRelativeRedirects = 5;

std::string percent_encode(std::string_view text, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "https://host:port/a/b" -> "https://host:port"; compared to keep the token off other hosts.;
// compared to keep the token off other hosts.
std::string url_origin(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

bool is_absolute_url(std::string_view location) {
  return location.starts_with("http://") || location.starts_with("https://");
}

// ETag: W/"abc" -> abc. The hub quotes it; weak validators carry a W/ prefix.
std::string normalize_etag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

// What the HEAD request said about a file.
struct FileMetadata {
  std::string commit;
  std::string etag;
  std::optional<int64_t> size;
  std::string location;  // where to GET the bytes
};

std::optional<int64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || value < 0) return std::nullopt;
  return static_cast<int64_t>(value);
}

FileMetadata metadata_from(const HttpResult& head, const std::string& url,
                           std::string_view revision) {
  FileMetadata meta;
  // Without the hub's headers (a plain static server) fall back to the revision as the commit
  // and the URL's hash as the blob name: still a stable, valid cache.
  meta.commit = head.headers.get("X-Repo-Commit").value_or(std::string(revision));
  auto etag = head.headers.get("X-Linked-Etag");
  if (!etag || etag->empty()) etag = head.headers.get("ETag");
  meta.etag = etag && !etag->empty() ? normalize_etag(*etag) : core::sha256_hex(url);
  if (meta.etag.empty()) meta.etag = core::sha256_hex(url);
  const bool redirect = head.status >= 300 && head.status < 400;
  meta.size = parse_size(head.headers.get("X-Linked-Size"));
  // A redirect's Content-Length is the size of its own (empty) body, not the file's.
  if (!meta.size && !redirect) meta.size = parse_size(head.headers.get("Content-Length"));
  meta.location = url;
  if (redirect) {
    const auto location = head.headers.get("Location").value_or("");
    if (!location.empty()) meta.location = location;
  }
  return meta;
}

}  // namespace

void warn(const std::string& message) {
  std::fprintf(stderr, "bertkit: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

Downloader::Downloader(HubOptions options) : options_(std::move(options)) {
  while (options_.endpoint.ends_with('/')) options_.endpoint.pop_back();
}

Downloader::~Downloader() = default;

HttpClient& Downloader::client() {
  if (!client_) {
    client_ =
        std::make_unique<HttpClient>(HttpSettings{.token = options_.token,
                                                  .head_timeout_s = options_.etag_timeout_s,
                                                  .read_timeout_s = options_.download_timeout_s});
  }
  return *client_;
}

FileLookup Downloader::fetch(std::string_view repo_id, std::string_view filename,
                             std::string_view revision) {
  validate_repo_id(repo_id);
  validate_repo_filename(filename);
  validate_revision(revision);
  if (options_.cache_dir.empty()) options_.cache_dir = default_hub_cache_dir();
  const RepoCache cache(options_.cache_dir, repo_id);
  const std::string what =
      std::string(filename) + " of " + std::string(repo_id) + "@" + std::string(revision);

  const auto from_cache = [&](std::string_view commit) -> std::optional<FileLookup> {
    if (auto path = cache.cached_file(commit, filename)) {
      return FileLookup{FileStatus::kFound, *path, std::string(commit), ""};
    }
    if (cache.known_absent(commit, filename)) {
      return FileLookup{FileStatus::kAbsent, {}, std::string(commit), ""};
    }
    return std::nullopt;
  };
  // The cached copy of the revision, for when the network cannot tell us anything newer.
  const auto cached_revision = [&]() -> std::optional<FileLookup> {
    if (auto commit = cache.resolve_revision(revision)) return from_cache(*commit);
    return std::nullopt;
  };

  // A commit never changes, so a cached file at a commit is final (as transformers does).
  if (is_commit_hash(revision)) {
    if (auto hit = from_cache(revision)) return *hit;
  }
  if (options_.offline) {
    if (auto hit = cached_revision()) return *hit;
    return FileLookup{FileStatus::kUnavailable,
                      {},
                      "",
                      "offline mode (HF_HUB_OFFLINE=1) and " + what + " is not in the cache " +
                          options_.cache_dir.string()};
  }

  const std::string url = options_.endpoint + "/" + std::string(repo_id) + "/resolve/" +
                          percent_encode(revision, false) + "/" + percent_encode(filename, true);
  HttpResult head = client().head(url);
  // Renamed repos answer with a relative redirect to the new name; follow those only. An
  // absolute one goes to the CDN, and the metadata we need is on this response.
  std::string head_url = url;
  for (int hop = 0; hop < kMaxRelativeRedirects && head.transport_ok() && head.status >= 300 &&
                    head.status < 400;
       ++hop) {
    const auto location = head.headers.get("Location").value_or("");
    if (location.empty() || is_absolute_url(location)) break;
    head_url = url_origin(head_url) + (location.starts_with('/') ? "" : "/") + location;
    head = client().head(head_url);
  }

  const bool head_ok = head.transport_ok() && head.status >= 200 && head.status < 400;
  if (!head_ok) {
    const bool token_sent = options_.token.has_value();
    if (head.transport_ok() && head.status == 404) {
      const auto code = head.headers.get("X-Error-Code").value_or("");
      if (code == "RepoNotFound" || code == "RevisionNotFound") {
        throw IoError(code == "RepoNotFound"
                          ? describe_http_error(head, url, token_sent)
                          : "revision '" + std::string(revision) + "' not found in " +
                                std::string(repo_id) + " (" + url + ", HTTP 404)");
      }
      auto commit = head.headers.get("X-Repo-Commit");
      if (commit && !commit->empty()) {
        const auto safe_commit = safe_component(*commit);
        cache.write_ref(revision, safe_commit);
        cache.mark_absent(safe_commit, filename);
        return FileLookup{FileStatus::kAbsent, {}, safe_commit, ""};
      }
      return FileLookup{FileStatus::kAbsent, {}, "", ""};
    }
    // The network is down, the hub is failing, or it refuses us: like huggingface_hub, a cached
    // copy still serves, with a warning.
    const std::string problem = head.transport_ok()
                                    ? describe_http_error(head, url, token_sent)
                                    : "cannot reach " + url + ": " + head.transport_error;
    if (auto hit = cached_revision()) {
      warn(problem + "; using the cached " + what);
      return *hit;
    }
    if (!head.transport_ok()) {
      return FileLookup{
          FileStatus::kUnavailable,
          {},
          "",
          problem + ", and " + what + " is not in the cache " + options_.cache_dir.string()};
    }
    throw IoError(problem);
  }

  FileMetadata meta = metadata_from(head, head_url, revision);
  meta.commit = safe_component(meta.commit);
  if (!is_absolute_url(meta.location)) {
    meta.location =
        url_origin(head_url) + (meta.location.starts_with('/') ? "" : "/") + meta.location;
  }
  cache.write_ref(revision, meta.commit);
  if (auto path = cache.cached_file(meta.commit, filename)) {
    return FileLookup{FileStatus::kFound, *path, meta.commit, ""};
  }

  const auto blob = cache.blob(meta.etag);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(blob, ec)) {
    std::filesystem::create_directories(blob.parent_path(), ec);
    const FileLock lock(cache.lock_file(meta.etag));
    // Another process may have finished this blob while we waited for the lock.
    if (!std::filesystem::is_regular_file(blob, ec)) {
      const BlobRequest request{
          .url = meta.location,
          .display_name = std::string(filename),
          .expected_size = meta.size,
          .incomplete = cache.incomplete_blob(meta.etag),
          .blob = blob,
          .progress = options_.progress,
          // As huggingface_hub: the token goes to the hub, never to the CDN it redirects to.
          .send_token = url_origin(meta.location) == url_origin(head_url),
      };
      if (download_blob(client(), request) == BlobResult::kNotFound) {
        cache.mark_absent(meta.commit, filename);
        return FileLookup{FileStatus::kAbsent, {}, meta.commit, ""};
      }
    }
  }
  return FileLookup{FileStatus::kFound, cache.link_snapshot(meta.commit, filename, meta.etag),
                    meta.commit, ""};
}

}  // namespace bertkit::hub
