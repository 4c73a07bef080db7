// A read-only view of a zip archive in memory (the container of torch.save / pytorch_model.bin):
// the central directory is parsed and every entry's offsets and sizes are checked against the
// archive before anything is read. Stored and deflated entries, zip64 sizes and offsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bertkit::io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t data_offset = 0;  // of the (compressed) bytes, after the local header
};

class ZipReader {
 public:
  // FormatError naming `source` if the archive is malformed, encrypted or uses an unsupported
  // compression method.
  ZipReader(std::span<const std::byte> archive, std::string source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;

  // The entry's uncompressed bytes, CRC-checked. A stored entry is returned as a span into the
  // archive (`scratch` untouched); a deflated one is inflated into `scratch`.
  std::span<const std::byte> read(const ZipEntry& entry, std::vector<std::byte>& scratch) const;

 private:
  std::span<const std::byte> archive_;
  std::string source_;
  std::vector<ZipEntry> entries_;
};

}  // namespace bertkit::io
