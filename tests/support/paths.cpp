#include "support/paths.h"

#include <atomic>
#include <chrono>
#include <unistd.h>

namespace bertkit::testing {

std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(BERTKIT_FIXTURES_DIR) / relative;
}

std::filesystem::path shared(const std::string& relative) {
  return std::filesystem::path(BERTKIT_SHARED_DIR) / relative;
}

bool shared_exists(const std::string& relative) { return std::filesystem::exists(shared(relative)); }

std::filesystem::path cli_path() { return std::filesystem::path(BERTKIT_CLI_PATH); }

std::filesystem::path make_temp_dir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" +
              std::to_string(counter++));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace bertkit::testing
