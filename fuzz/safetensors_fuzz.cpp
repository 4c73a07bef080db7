// libFuzzer target for the safetensors reader: arbitrary bytes through parse_safetensors. The
// only allowed error is FormatError; any other exception, crash, leak or sanitizer report is a
// bug. Accepted files are checked for the invariants the reader promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "bertkit/serialization.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    bertkit::Metadata metadata;
    const auto tensors = bertkit::parse_safetensors(bytes, &metadata);
    std::size_t total = 0;
    for (const auto& [name, t] : tensors) {
      if (t.empty()) std::abort();
      total += t.nbytes();
      if (t.nbytes() > size) std::abort();
      (void)t.to_f32();
    }
    if (total > size) std::abort();  // tensors tile the data section, which is in the input
  } catch (const bertkit::FormatError&) {
  }
  return 0;
}
