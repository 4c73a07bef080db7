// Where test inputs live. Fixtures in tests/fixtures/ always exist; ../shared (beside the repo)
// may be absent on a fresh clone, so tests that need it call BERTKIT_REQUIRE_SHARED, which skips
// loudly instead of failing.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace bertkit::testing {

std::filesystem::path fixture(const std::string& relative);
std::filesystem::path shared(const std::string& relative);
bool shared_exists(const std::string& relative);
std::filesystem::path cli_path();
// A fresh empty directory under the system temp dir, unique per call.
std::filesystem::path make_temp_dir(const std::string& prefix);

}  // namespace bertkit::testing

#define BERTKIT_REQUIRE_SHARED(relative)                                                        \
  do {                                                                                          \
    if (!::bertkit::testing::shared_exists(relative)) {                                         \
      GTEST_SKIP() << "SKIPPED: " << ::bertkit::testing::shared(relative)                       \
                   << " is absent (../shared beside the repo holds the large data)";            \
    }                                                                                           \
  } while (0)
