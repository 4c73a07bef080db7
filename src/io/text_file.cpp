#include "io/text_file.h"

#include <fstream>
#include <sstream>

#include "bertkit/error.h"
#include "io/atomic_file.h"

namespace bertkit::io {

std::string read_text_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError("cannot open " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError("cannot read " + file.string());
  return std::move(text).str();
}

void write_text_file_atomically(const std::filesystem::path& file, std::string_view text) {
  AtomicFile out(file);
  out.write(text);
  out.commit();
}

}  // namespace bertkit::io
