// The safetensors header, parsed and fully validated, shared by the file and memory readers.
// Format: 8-byte little-endian header length N, N bytes of JSON, then the data section; each
// tensor's data_offsets are [begin, end) relative to the start of the data section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bertkit/serialization.h"

namespace bertkit::io {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;  // offsets into the data section
  std::size_t end = 0;
};

struct SafetensorsLayout {
  std::vector<SafetensorsEntry> tensors;  // in data-section order
  Metadata metadata;
  std::size_t data_start = 0;  // byte offset of the data section in the file
};

// A header larger than this is refused: real headers are kilobytes, and a corrupt length must
// not make us parse (or allocate for) gigabytes of JSON.
inline constexpr std::size_t kMaxSafetensorsHeader = 100u << 20;

// Validates the whole file image (header and data section bounds); FormatError naming `source`
// and the offending tensor otherwise.
SafetensorsLayout parse_safetensors_layout(std::span<const std::byte> bytes,
                                           const std::string& source);

}  // namespace bertkit::io
