// libFuzzer target for the restricted unpickler: arbitrary bytes as data.pkl, over a fake
// storage map with the keys and sizes of the golden tiny model's archive (so its data.pkl, the
// seed, parses completely and mutations reach the tensor rebuilding). Only FormatError is
// allowed; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "bertkit/serialization.h"

namespace {

const std::map<std::string, std::span<const std::byte>>& storages() {
  static const std::vector<std::size_t> sizes = {
      131072, 8192, 256, 128,  128, 4096, 128, 4096, 128, 4096, 128, 4096, 128, 128,
      128,    8192, 256, 8192, 128, 128,  128, 4096, 128, 4096, 128, 4096, 128, 4096,
      128,    128,  128, 8192, 256, 8192, 128, 128,  128, 4096, 128, 256,  8};
  static const std::vector<std::byte> zeros(131072);
  static const auto map = [] {
    std::map<std::string, std::span<const std::byte>> m;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      m.emplace(std::to_string(i), std::span(zeros).first(sizes[i]));
    }
    return m;
  }();
  return map;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto tensors =
        bertkit::parse_torch_pickle(std::as_bytes(std::span(data, size)), storages());
    for (const auto& [name, t] : tensors) (void)t.to_f32();
  } catch (const bertkit::FormatError&) {
  }
  return 0;
}
