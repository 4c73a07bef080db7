// Whole small files (JSON configs, trainer state) read into memory and written atomically.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "bertkit/error.h"

namespace bertkit::io {

// The file's bytes; IoError naming the file when it is missing or unreadable.
std::string read_text_file(const std::filesystem::path& file);
// Replaces `file` with `text` atomically (AtomicFile: temporary file, fsync, rename).
void write_text_file_atomically(const std::filesystem::path& file, std::string_view text);

// parse(read_text_file(file)), with the file's name put in front of any FormatError.
template <class Parse>
auto parse_text_file(const std::filesystem::path& file, Parse&& parse) {
  const std::string text = read_text_file(file);
  try {
    return std::forward<Parse>(parse)(text);
  } catch (const FormatError& e) {
    throw FormatError(file.string() + ": " + e.what());
  }
}

}  // namespace bertkit::io
