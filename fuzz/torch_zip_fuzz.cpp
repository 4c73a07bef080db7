// libFuzzer target for the zip container of pytorch_model.bin: arbitrary bytes as an archive,
// every entry read (inflated, CRC-checked). Only FormatError is allowed; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "bertkit/error.h"
#include "io/torch_zip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    const bertkit::io::ZipReader zip(bytes, "fuzz.zip");
    for (const auto& entry : zip.entries()) {
      std::vector<std::byte> scratch;
      try {
        const auto content = zip.read(entry, scratch);
        if (content.size() != entry.uncompressed_size) std::abort();
      } catch (const bertkit::FormatError&) {
      }
    }
  } catch (const bertkit::FormatError&) {
  }
  return 0;
}
