#include <algorithm>
#include <nlohmann/json.hpp>

#include "bertkit/serialization.h"
#include "io/atomic_file.h"

namespace bertkit {

namespace {

// The reference writer (safetensors' Rust `prepare`) orders tensors by dtype, descending in
// its Dtype enum order, then by name; the goldens follow it, so files we write match byte for
// byte what Python writes for the same state dict.
int reference_dtype_rank(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return 0;
    case DType::kU8:
      return 1;
    case DType::kI8:
      return 2;
    case DType::kI16:
      return 5;
    case DType::kF16:
      return 7;
    case DType::kBF16:
      return 8;
    case DType::kI32:
      return 9;
    case DType::kF32:
      return 11;
    case DType::kF64:
      return 12;
    case DType::kI64:
      return 13;
  }
  return -1;
}

std::string json_string(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    throw InvalidArgument(what + " \"" + text + "\" is not valid UTF-8");
  }
}

}  // namespace

void save_safetensors(const std::filesystem::path& file, const StateDict& tensors,
                      const Metadata& metadata) {
  std::vector<const StateDict::value_type*> order;
  for (const auto& entry : tensors) {
    if (entry.first == "__metadata__") {
      throw InvalidArgument("cannot save a tensor named __metadata__ to " + file.string());
    }
    if (entry.second.empty()) {
      throw InvalidArgument("cannot save empty (unset) tensor '" + entry.first + "' to " +
                            file.string());
    }
    order.push_back(&entry);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return reference_dtype_rank(a->second.dtype()) > reference_dtype_rank(b->second.dtype());
  });  // names are already sorted: StateDict is a std::map

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ",";
      first = false;
      header += json_string(key, "metadata key") + ":" + json_string(value, "metadata value");
    }
    header += "}";
  }
  std::size_t offset = 0;
  for (const auto* entry : order) {
    const Tensor& t = entry->second;
    if (header.size() > 1) header += ",";
    header += json_string(entry->first, "tensor name");
    header += ":{\"dtype\":\"" + std::string(dtype_name(t.dtype())) + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.rank(); ++i) {
      if (i != 0) header += ",";
      header += std::to_string(t.dim(i));
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + ",";
    offset += t.nbytes();
    header += std::to_string(offset) + "]}";
  }
  header += "}";
  // Padding to a multiple of 8 keeps the data section 8-byte aligned in a mapped file.
  header.append((8 - header.size() % 8) % 8, ' ');

  std::byte length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::byte>((header.size() >> (8 * i)) & 0xFF);
  io::AtomicFile out(file);
  out.write(length);
  out.write(header);
  for (const auto* entry : order) out.write({entry->second.data(), entry->second.nbytes()});
  out.commit();
}

}  // namespace bertkit
