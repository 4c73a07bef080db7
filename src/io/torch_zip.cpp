#include "io/torch_zip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <set>

#include "bertkit/error.h"

namespace bertkit::io {

namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kLocalHeaderSize = 30;
// Deflate cannot expand data by more than about 1032:1; a larger claimed size is a zip bomb or
// a corrupt header, and must not make us allocate it.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// Bounds-checked little-endian reads; every offset comes from the file.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& source)
      : bytes_(bytes), source_(source) {}

  void need(std::uint64_t offset, std::uint64_t size, const char* what) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset) {
      throw FormatError(source_ + ": corrupt zip archive: " + what + " at offset " +
                        std::to_string(offset) + " (+" + std::to_string(size) +
                        " bytes) lies beyond the end of the " + std::to_string(bytes_.size()) +
                        "-byte file");
    }
  }
  std::uint64_t le(std::uint64_t offset, int width) const {
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) {
      v = (v << 8) | static_cast<std::uint8_t>(bytes_[offset + static_cast<std::size_t>(i)]);
    }
    return v;
  }
  std::uint16_t u16(std::uint64_t offset) const {
    return static_cast<std::uint16_t>(le(offset, 2));
  }
  std::uint32_t u32(std::uint64_t offset) const {
    return static_cast<std::uint32_t>(le(offset, 4));
  }
  std::uint64_t u64(std::uint64_t offset) const { return le(offset, 8); }
  std::string_view text(std::uint64_t offset, std::size_t size) const {
    return {reinterpret_cast<const char*>(bytes_.data()) + offset, size};
  }
  std::size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  const std::string& source_;
};

}  // namespace

ZipReader::ZipReader(std::span<const std::byte> archive, std::string source)
    : archive_(archive), source_(std::move(source)) {
  const Cursor in(archive_, source_);
  auto fail = [&](const std::string& what) -> void {
    throw FormatError(source_ + ": corrupt zip archive: " + what);
  };
  if (archive_.size() < kEndSize) {
    fail("the file is " + std::to_string(archive_.size()) + " bytes, too short for a zip archive");
  }

  // The end-of-central-directory record is the last 22 bytes plus a comment of up to 64 KiB.
  std::uint64_t end = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t lowest =
      archive_.size() > kEndSize + 0xFFFF ? archive_.size() - kEndSize - 0xFFFF : 0;
  for (std::uint64_t pos = archive_.size() - kEndSize + 1; pos-- > lowest;) {
    if (in.u32(pos) == kEndSig && pos + kEndSize + in.u16(pos + 20) == archive_.size()) {
      end = pos;
      break;
    }
  }
  if (end == std::numeric_limits<std::uint64_t>::max()) {
    fail("no end-of-central-directory record (not a zip file, or truncated)");
  }
  if (in.u16(end + 4) != 0 || in.u16(end + 6) != 0) fail("multi-disk archives are not supported");
  std::uint64_t count = in.u16(end + 10);
  std::uint64_t dir_size = in.u32(end + 12);
  std::uint64_t dir_offset = in.u32(end + 16);
  if (count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    if (end < 20 || in.u32(end - 20) != kZip64LocatorSig) {
      fail("zip64 sizes announced but no zip64 end-of-central-directory locator");
    }
    const std::uint64_t record = in.u64(end - 20 + 8);
    in.need(record, 56, "zip64 end-of-central-directory record");
    if (in.u32(record) != kZip64EndSig) fail("bad zip64 end-of-central-directory signature");
    count = in.u64(record + 32);
    dir_size = in.u64(record + 40);
    dir_offset = in.u64(record + 48);
  }
  in.need(dir_offset, dir_size, "central directory");
  if (count > dir_size / kCentralHeaderSize) {
    fail(std::to_string(count) + " entries cannot fit in a central directory of " +
         std::to_string(dir_size) + " bytes");
  }

  std::set<std::string_view> names;
  std::uint64_t pos = dir_offset;
  const std::uint64_t dir_end = dir_offset + dir_size;
  entries_.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    if (pos + kCentralHeaderSize > dir_end || in.u32(pos) != kCentralHeaderSig) {
      fail("central directory entry " + std::to_string(i) + " is malformed");
    }
    ZipEntry e;
    const std::uint16_t flags = in.u16(pos + 8);
    e.method = in.u16(pos + 10);
    e.crc32 = in.u32(pos + 16);
    e.compressed_size = in.u32(pos + 20);
    e.uncompressed_size = in.u32(pos + 24);
    const std::uint16_t name_len = in.u16(pos + 28);
    const std::uint16_t extra_len = in.u16(pos + 30);
    const std::uint16_t comment_len = in.u16(pos + 32);
    std::uint64_t local = in.u32(pos + 42);
    const std::uint64_t record_end = pos + kCentralHeaderSize + name_len + extra_len + comment_len;
    if (record_end > dir_end) fail("central directory entry " + std::to_string(i) + " overruns it");
    e.name = std::string(in.text(pos + kCentralHeaderSize, name_len));

    // zip64 extended information: only the fields saturated in the fixed header are present.
    std::uint64_t extra = pos + kCentralHeaderSize + name_len;
    const std::uint64_t extra_end = extra + extra_len;
    while (extra + 4 <= extra_end) {
      const std::uint16_t id = in.u16(extra);
      const std::uint16_t size = in.u16(extra + 2);
      if (extra + 4 + size > extra_end) fail("entry '" + e.name + "' has a malformed extra field");
      if (id == 0x0001) {
        std::uint64_t field = extra + 4;
        for (std::uint64_t* value : {&e.uncompressed_size, &e.compressed_size, &local}) {
          if (*value != 0xFFFFFFFF) continue;
          if (field + 8 > extra + 4 + size) fail("entry '" + e.name + "' has a short zip64 field");
          *value = in.u64(field);
          field += 8;
        }
      }
      extra += 4 + size;
    }

    if (flags & 0x1) fail("entry '" + e.name + "' is encrypted");
    if (e.method != 0 && e.method != 8) {
      fail("entry '" + e.name + "' uses compression method " + std::to_string(e.method) +
           " (only stored and deflated are supported)");
    }
    if (e.method == 0 && e.compressed_size != e.uncompressed_size) {
      fail("stored entry '" + e.name + "' has different compressed and uncompressed sizes");
    }
    if (e.method == 8 && e.uncompressed_size > e.compressed_size * kMaxDeflateRatio + 1024) {
      fail("deflated entry '" + e.name + "' claims an impossible size of " +
           std::to_string(e.uncompressed_size) + " bytes");
    }
    // The local header repeats the name but may carry a different extra field (torch pads
    // it so that data is 64-byte aligned), so the data offset comes from the local header.
    in.need(local, kLocalHeaderSize, ("local header of '" + e.name + "'").c_str());
    if (in.u32(local) != kLocalHeaderSig) fail("entry '" + e.name + "' has no local header");
    const std::uint16_t local_name_len = in.u16(local + 26);
    const std::uint16_t local_extra_len = in.u16(local + 28);
    in.need(local + kLocalHeaderSize, local_name_len, ("name of '" + e.name + "'").c_str());
    if (in.text(local + kLocalHeaderSize, local_name_len) != e.name) {
      fail("entry '" + e.name + "': local header names a different file");
    }
    e.data_offset = local + kLocalHeaderSize + local_name_len + local_extra_len;
    in.need(e.data_offset, e.compressed_size, ("data of '" + e.name + "'").c_str());
    entries_.push_back(std::move(e));
    pos = record_end;
  }
  for (const auto& e : entries_) {
    if (!names.insert(e.name).second) fail("duplicate entry '" + e.name + "'");
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  for (const auto& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::span<const std::byte> ZipReader::read(const ZipEntry& entry,
                                           std::vector<std::byte>& scratch) const {
  const auto fail = [&](const std::string& what) {
    throw FormatError(source_ + ": corrupt zip entry '" + entry.name + "': " + what);
  };
  std::span<const std::byte> out = archive_.subspan(entry.data_offset, entry.compressed_size);
  if (entry.method == 8) {
    scratch.assign(entry.uncompressed_size, std::byte{0});
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("zlib cannot initialise");
    Bytef empty_output = 0;
    std::uint64_t in_done = 0;
    std::uint64_t out_done = 0;
    int rc = Z_OK;
    // zlib counts in 32-bit uInt, so large entries are fed in chunks.
    while (rc == Z_OK) {
      const uInt in_chunk = static_cast<uInt>(
          std::min<std::uint64_t>(out.size() - in_done, std::numeric_limits<uInt>::max()));
      const uInt out_chunk = static_cast<uInt>(
          std::min<std::uint64_t>(scratch.size() - out_done, std::numeric_limits<uInt>::max()));
      z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(out.data() + in_done));
      z.avail_in = in_chunk;
      // zlib refuses a null output pointer even with no room, which an empty entry has.
      z.next_out =
          scratch.empty() ? &empty_output : reinterpret_cast<Bytef*>(scratch.data() + out_done);
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_done += in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc == Z_OK && z.avail_out == out_chunk && z.avail_in == in_chunk) rc = Z_BUF_ERROR;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) fail("the deflate stream is corrupt or truncated");
    if (out_done != scratch.size()) {
      fail("inflates to " + std::to_string(out_done) + " bytes, not " +
           std::to_string(scratch.size()));
    }
    out = scratch;
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < out.size();) {
    const auto chunk = static_cast<uInt>(
        std::min<std::size_t>(out.size() - done, std::numeric_limits<uInt>::max()));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), chunk);
    done += chunk;
  }
  if (crc != entry.crc32) fail("CRC-32 mismatch (the file is corrupt)");
  return out;
}

}  // namespace bertkit::io
