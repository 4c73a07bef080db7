// SHA-256 through libcrypto (OpenSSL): hub blob names when a server sends no ETag, and the
// checksum of downloaded datasets.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace bertkit::core {

std::string sha256_hex(std::string_view bytes);              // lower-case hex digest
std::string sha256_file(const std::filesystem::path& file);  // streams the file

}  // namespace bertkit::core
