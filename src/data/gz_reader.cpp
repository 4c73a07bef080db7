#include "data/gz_reader.h"

#include <cerrno>
#include <cstring>

#include "bertkit/error.h"

namespace bertkit::data {

namespace {
constexpr std::size_t kBufferSize = 1 << 16;
}

GzReader::GzReader(const std::filesystem::path& path) : path_(path), buffer_(kBufferSize) {
  if (std::filesystem::is_directory(path)) {
    throw IoError("cannot read " + path.string() + ": it is a folder, not a file");
  }
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    throw IoError("cannot open " + path.string() + ": " +
                  (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(file_, 1 << 17);
}

GzReader::~GzReader() {
  if (file_ != nullptr) gzclose(file_);
}

bool GzReader::fill() {
  const int n = gzread(file_, buffer_.data(), static_cast<unsigned>(buffer_.size()));
  if (n < 0) {
    int code = 0;
    const char* message = gzerror(file_, &code);
    throw IoError("cannot read " + path_.string() + ": " +
                  (code == Z_ERRNO ? std::strerror(errno) : message) +
                  " (a truncated or corrupt gzip file?)");
  }
  pos_ = 0;
  end_ = static_cast<std::size_t>(n);
  if (n == 0) {
    // gzread returns 0 both at a clean end and at a gzip stream cut short; only gzerror tells.
    int code = 0;
    const char* message = gzerror(file_, &code);
    if (code != Z_OK && code != Z_STREAM_END) {
      throw IoError("cannot read " + path_.string() + ": " + message +
                    " (a truncated or corrupt gzip file?)");
    }
  }
  return n > 0;
}

bool GzReader::getline(std::string& line) {
  line.clear();
  if (pos_ == end_ && !fill()) return false;
  for (;;) {
    const char* begin = buffer_.data() + pos_;
    const char* newline = static_cast<const char*>(std::memchr(begin, '\n', end_ - pos_));
    if (newline != nullptr) {
      line.append(begin, newline);
      pos_ += static_cast<std::size_t>(newline - begin) + 1;
      break;
    }
    line.append(begin, end_ - pos_);
    pos_ = end_;
    if (!fill()) break;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

std::string GzReader::read_all() {
  std::string out;
  while (pos_ < end_ || fill()) {
    out.append(buffer_.data() + pos_, end_ - pos_);
    pos_ = end_;
  }
  return out;
}

}  // namespace bertkit::data
