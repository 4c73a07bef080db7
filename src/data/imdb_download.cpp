#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <memory>

#include "bertkit/error.h"
#include "data/imdb_source.h"
#include "hub/blob_download.h"
#include "hub/http_client.h"

namespace bertkit::data {

std::string sha256_file(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), std::fclose);
  if (!in) throw IoError("cannot open " + file.string() + " to check its SHA-256");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw Error("libcrypto: cannot start a SHA-256 digest");
  }
  std::array<unsigned char, 1 << 16> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), in.get())) > 0) {
    EVP_DigestUpdate(ctx.get(), buffer.data(), n);
  }
  if (std::ferror(in.get())) throw IoError("cannot read " + file.string());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &size);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

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
  const std::string actual = sha256_file(unverified);
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
