#include <array>
#include <cstdio>
#include <memory>

#include "bertkit/error.h"
#include "core/sha256.h"
#include "data/imdb_source.h"
#include "hub/blob_download.h"
#include "hub/http_client.h"

namespace bertkit::data {

void download_verified(const std::string& url, const std::filesystem::path& dest,
                       const std::string& sha256, bool progress) {
  // The hub's blob fetcher does the resumable part (Range requests on dest.incomplete, retries)
  // and renames the finished file; it lands under a name the loader never reads until checked.
  const std::filesystem::path unverified = dest.string() + ".unverified";
  hub::HttpClient client(hub::HttpSettings{.read_timeout_s = 60});
  const auto result = hub::download_blob(client, {.url = url,
                                                  .display_name = dest.filename().string(),
                                                  .incomplete = dest.string() + ".incomplete",
                                                  .blob = unverified,
                                                  .progress = progress});
  if (result == hub::BlobResult::kNotFound) throw IoError("HTTP 404 for " + url);
  const std::string actual = core::sha256_file(unverified);
  std::error_code ec;
  if (actual != sha256) {
    std::filesystem::remove(unverified, ec);
    throw IoError("the download of " + url + " has SHA-256 " + actual + ", expected " + sha256 +
                  "; the file was removed");
  }
  std::filesystem::rename(unverified, dest, ec);
  if (ec) throw IoError("cannot move " + unverified.string() + " to " + dest.string());
}

}  // namespace bertkit::data
