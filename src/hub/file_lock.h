// An exclusive advisory lock (flock) on a lock file, held for a scope, so two processes
// downloading the same blob into one cache do not write the same .incomplete file at once.
#pragma once

#include <filesystem>

namespace bertkit::hub {

class FileLock {
 public:
  // Blocks until the lock is held; creates the lock file and its folder if needed.
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace bertkit::hub
