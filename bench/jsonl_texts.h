// Reading the text field of .jsonl / .jsonl.gz files (IMDB in ../shared/data/imdb) for the bench
// programs. Header-only because every bench/*.cpp is its own executable.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bertkit/error.h"

namespace bertkit::bench {

// Every non-empty line's `field`, in file order, up to `limit` texts. gzopen reads plain files
// too, so .jsonl and .jsonl.gz both work.
inline std::vector<std::string> read_jsonl_texts(
    const std::filesystem::path& file, const std::string& field = "text",
    std::size_t limit = std::numeric_limits<std::size_t>::max()) {
  gzFile in = gzopen(file.c_str(), "rb");
  if (in == nullptr) throw IoError("cannot open " + file.string());
  std::vector<std::string> texts;
  std::string line;
  char buffer[1 << 16];
  std::size_t line_number = 0;
  auto take_line = [&] {
    ++line_number;
    if (line.empty()) return;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(file.string() + ":" + std::to_string(line_number) + ": " + e.what());
    }
    auto it = record.find(field);
    if (it == record.end() || !it->is_string()) {
      throw FormatError(file.string() + ":" + std::to_string(line_number) + ": no string field \"" +
                        field + "\"");
    }
    texts.push_back(it->get<std::string>());
    line.clear();
  };
  while (texts.size() < limit) {
    if (gzgets(in, buffer, sizeof buffer) == nullptr) break;
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      take_line();
    }
  }
  int error = Z_OK;
  const char* message = gzerror(in, &error);
  const std::string why = error == Z_OK || error == Z_STREAM_END ? "" : message;
  gzclose(in);
  if (!why.empty()) throw IoError("reading " + file.string() + ": " + why);
  if (texts.size() < limit) take_line();  // a last line without '\n'
  return texts;
}

inline std::size_t total_bytes(const std::vector<std::string>& texts) {
  std::size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  return bytes;
}

}  // namespace bertkit::bench
