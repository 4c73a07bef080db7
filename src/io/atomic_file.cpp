#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "bertkit/error.h"

namespace bertkit::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::filesystem::path folder_of(const std::filesystem::path& file) {
  return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  static std::atomic<unsigned> counter{0};
  // Built with append: gcc 12 warns falsely (-Wrestrict) on a chain of string operator+.
  std::string name = ".";
  name.append(target_.filename().string()).append(".tmp-");
  name.append(std::to_string(::getpid())).append("-").append(std::to_string(counter++));
  temp_ = folder_of(target_) / name;
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw IoError("cannot create " + temp_.string() + " to write " + target_.string() + ": " +
                  errno_text());
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw IoError("cannot write " + temp_.string() + ": " + errno_text());
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::write(std::string_view text) {
  write(std::as_bytes(std::span(text.data(), text.size())));
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) throw IoError("cannot fsync " + temp_.string() + ": " + errno_text());
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(temp_.c_str());
    throw IoError("cannot close " + temp_.string() + ": " + errno_text());
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temp_.c_str());
    throw IoError("cannot rename " + temp_.string() + " to " + target_.string() + ": " + why);
  }
  const auto folder = folder_of(target_);
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) throw IoError("cannot open folder " + folder.string() + ": " + errno_text());
  const int rc = ::fsync(dir);
  ::close(dir);
  if (rc != 0) throw IoError("cannot fsync folder " + folder.string() + ": " + errno_text());
}

}  // namespace bertkit::io
