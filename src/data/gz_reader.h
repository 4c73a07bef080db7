// Reading a file that may be gzip-compressed, as a stream of bytes or lines: zlib's gzread
// inflates .gz data (several members too) and passes plain files through unchanged, so every
// reader handles "x.jsonl" and "x.jsonl.gz" alike without looking at the name.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace bertkit::data {

class GzReader {
 public:
  // IoError when the file cannot be opened.
  explicit GzReader(const std::filesystem::path& path);
  ~GzReader();
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // The next byte, or -1 at the end. IoError for a read error or a truncated/corrupt .gz.
  int get() {
    if (pos_ == end_ && !fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_++]);
  }
  int peek() {
    if (pos_ == end_ && !fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  // The next line without its "\n" (or "\r\n"); false at the end of the file.
  bool getline(std::string& line);
  // Everything that is left.
  std::string read_all();

  const std::filesystem::path& path() const { return path_; }

 private:
  bool fill();

  std::filesystem::path path_;
  gzFile file_ = nullptr;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

}  // namespace bertkit::data
