// A read-only memory mapping of a whole file (RAII). Tensors loaded from the file hold a
// shared_ptr to it, so the mapping lives exactly as long as something still views it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace bertkit::io {

class MappedFile {
 public:
  // IoError if the file cannot be opened, is not a regular file, or cannot be mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& file);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;

  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  void* mapping_ = nullptr;  // null for an empty file (mmap cannot map zero bytes)
};

}  // namespace bertkit::io
