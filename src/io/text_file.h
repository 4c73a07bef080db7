// Whole small files (JSON configs, trainer state) read into memory and written atomically.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace bertkit::io {

// The file's bytes; IoError naming the file when it is missing or unreadable.
std::string read_text_file(const std::filesystem::path& file);
// Replaces `file` with `text` atomically (AtomicFile: temporary file, fsync, rename).
void write_text_file_atomically(const std::filesystem::path& file, std::string_view text);

}  // namespace bertkit::io
