#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bertkit/error.h"

namespace bertkit::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open " + file.string() + ": " + errno_text());
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError("cannot stat " + file.string() + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) throw IoError(file.string() + " is not a regular file");

  std::shared_ptr<MappedFile> mapped(new MappedFile());
  mapped->path_ = file;
  mapped->size_ = static_cast<std::size_t>(st.st_size);
  if (mapped->size_ == 0) {
    static const std::byte kNothing{};
    mapped->data_ = &kNothing;
    return mapped;
  }
  void* addr = ::mmap(nullptr, mapped->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) throw IoError("cannot mmap " + file.string() + ": " + errno_text());
  mapped->mapping_ = addr;
  mapped->data_ = static_cast<const std::byte*>(addr);
  return mapped;
}

MappedFile::~MappedFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

}  // namespace bertkit::io
