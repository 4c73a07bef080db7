// Whole-file byte I/O for tests that corrupt or rebuild binary fixtures.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

namespace bertkit::testing {

std::vector<std::byte> read_bytes(const std::filesystem::path& file);
void write_bytes(const std::filesystem::path& file, std::span<const std::byte> bytes);

}  // namespace bertkit::testing
