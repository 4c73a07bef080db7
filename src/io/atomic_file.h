// Writes a file so that readers see either the old content or the complete new content, never
// a torn file: data goes to a temporary file in the same folder, which is fsynced and renamed
// over the target, and the folder is fsynced so the rename itself survives a crash.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace bertkit::io {

class AtomicFile {
 public:
  // IoError if the temporary file cannot be created (missing folder, no permission).
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Without commit() the temporary file is removed and the target is left untouched.
  ~AtomicFile();

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // fsync, rename over the target, fsync the folder. IoError on any failure.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
};

}  // namespace bertkit::io
