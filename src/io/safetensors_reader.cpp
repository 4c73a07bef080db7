#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "io/mapped_file.h"
#include "io/safetensors_format.h"

namespace bertkit {
namespace io {

namespace {

using nlohmann::json;

// Nesting deeper than this cannot be a safetensors header (it needs 3 levels).
constexpr std::size_t kMaxJsonDepth = 32;

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw FormatError(source + ": invalid safetensors file: " + what);
}

[[noreturn]] void fail_tensor(const std::string& source, const std::string& name,
                              const std::string& what) {
  fail(source, "tensor '" + name + "': " + what);
}

// nlohmann keeps the last of duplicate keys silently; a hostile header could hide a second
// definition of a tensor that way, so the parse callback refuses duplicates at every level.
json parse_header_json(std::string_view text, const std::string& source) {
  std::vector<std::optional<std::set<std::string>>> scopes;  // nullopt for arrays
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (scopes.size() >= kMaxJsonDepth) fail(source, "header JSON is nested too deeply");
        if (event == json::parse_event_t::object_start) {
          scopes.emplace_back(std::set<std::string>{});
        } else {
          scopes.emplace_back(std::nullopt);
        }
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!scopes.empty()) scopes.pop_back();
        break;
      case json::parse_event_t::key:
        if (!scopes.empty() && scopes.back().has_value() && parsed.is_string()) {
          const auto& key = parsed.get_ref<const std::string&>();
          if (!scopes.back()->insert(key).second) {
            fail(source, "duplicate key \"" + key + "\" in the header JSON");
          }
        }
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    fail(source, std::string("header is not valid JSON: ") + e.what());
  }
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

// A JSON value that must be a non-negative integer no larger than `max`.
std::optional<std::uint64_t> as_count(const json& v, std::uint64_t max) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u <= max) return u;
    return std::nullopt;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() == 0) return 0;  // "-0"
  return std::nullopt;
}

SafetensorsEntry parse_entry(const std::string& name, const json& value, std::size_t data_size,
                             const std::string& source) {
  if (!value.is_object()) fail_tensor(source, name, "entry is not a JSON object");
  for (const auto& [key, _] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail_tensor(source, name, "unexpected field \"" + key + "\"");
    }
  }
  SafetensorsEntry entry;
  entry.name = name;

  const auto dtype = value.find("dtype");
  if (dtype == value.end()) fail_tensor(source, name, "missing \"dtype\"");
  if (!dtype->is_string()) fail_tensor(source, name, "\"dtype\" is not a string");
  try {
    entry.dtype = parse_dtype(dtype->get_ref<const std::string&>());
  } catch (const FormatError& e) {
    fail_tensor(source, name, e.what());
  }

  const auto shape = value.find("shape");
  if (shape == value.end()) fail_tensor(source, name, "missing \"shape\"");
  if (!shape->is_array()) fail_tensor(source, name, "\"shape\" is not an array");
  std::uint64_t numel = 1;
  for (const auto& d : *shape) {
    const auto dim = as_count(d, std::numeric_limits<std::int64_t>::max());
    if (!dim) {
      fail_tensor(
          source, name,
          "shape " + shape->dump() + " has a dimension that is not a " + "non-negative integer");
    }
    entry.shape.push_back(static_cast<std::int64_t>(*dim));
    if (__builtin_mul_overflow(numel, *dim, &numel)) {
      fail_tensor(source, name, "shape " + shape->dump() + " overflows the element count");
    }
  }
  std::uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, dtype_size(entry.dtype), &nbytes) ||
      nbytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    fail_tensor(source, name, "shape " + shape->dump() + " overflows the byte size");
  }

  const auto offsets = value.find("data_offsets");
  if (offsets == value.end()) fail_tensor(source, name, "missing \"data_offsets\"");
  if (!offsets->is_array() || offsets->size() != 2) {
    fail_tensor(source, name, "\"data_offsets\" is not a [begin, end] pair");
  }
  const auto begin = as_count((*offsets)[0], data_size);
  const auto end = as_count((*offsets)[1], data_size);
  if (!begin || !end) {
    fail_tensor(source, name,
                "data_offsets " + offsets->dump() +
                    " are not integers within the data section of " + std::to_string(data_size) +
                    " bytes");
  }
  if (*begin > *end)
    fail_tensor(source, name, "data_offsets " + offsets->dump() + " has begin > end");
  if (*end - *begin != nbytes) {
    fail_tensor(source, name,
                "data_offsets " + offsets->dump() + " span " + std::to_string(*end - *begin) +
                    " bytes but " + std::string(dtype_name(entry.dtype)) + " " + shape->dump() +
                    " needs " + std::to_string(nbytes));
  }
  entry.begin = static_cast<std::size_t>(*begin);
  entry.end = static_cast<std::size_t>(*end);
  return entry;
}

Metadata parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object()) fail(source, "\"__metadata__\" is not a JSON object");
  Metadata metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) fail(source, "\"__metadata__\" value for \"" + key + "\" is not a string");
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

// Like the reference implementation: the tensors, sorted by offset, must tile the data
// section exactly, with no overlap (aliasing) and no unexplained bytes.
void check_tiling(std::vector<SafetensorsEntry>& tensors, std::size_t data_size,
                  const std::string& source) {
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::size_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const auto& t : tensors) {
    if (t.begin < covered) {
      fail_tensor(source, t.name,
                  "data [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                      ") overlaps tensor '" + (previous ? previous->name : "") + "'");
    }
    if (t.begin > covered) {
      fail_tensor(source, t.name,
                  "data starts at " + std::to_string(t.begin) +
                      " but the previous tensor ends at " + std::to_string(covered) +
                      " (bytes in between belong to no tensor)");
    }
    covered = t.end;
    if (t.end > t.begin) previous = &t;
  }
  if (covered != data_size) {
    fail(source, "the tensors cover " + std::to_string(covered) + " bytes of a data section of " +
                     std::to_string(data_size) + " bytes");
  }
}

}  // namespace

SafetensorsLayout parse_safetensors_layout(std::span<const std::byte> bytes,
                                           const std::string& source) {
  if (bytes.size() < 8) {
    fail(source, "file is " + std::to_string(bytes.size()) +
                     " bytes, shorter than the 8-byte header length");
  }
  const std::uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxSafetensorsHeader) {
    fail(source, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                     std::to_string(kMaxSafetensorsHeader) + " bytes");
  }
  if (header_len > bytes.size() - 8) {
    fail(source, "header length " + std::to_string(header_len) + " is beyond the end of the " +
                     std::to_string(bytes.size()) + "-byte file");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8,
                              static_cast<std::size_t>(header_len));
  const json header = parse_header_json(text, source);
  if (!header.is_object()) fail(source, "header JSON is not an object");

  SafetensorsLayout layout;
  layout.data_start = 8 + static_cast<std::size_t>(header_len);
  const std::size_t data_size = bytes.size() - layout.data_start;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      layout.metadata = parse_metadata(value, source);
    } else {
      layout.tensors.push_back(parse_entry(name, value, data_size, source));
    }
  }
  check_tiling(layout.tensors, data_size, source);
  return layout;
}

}  // namespace io

StateDict load_safetensors(const std::filesystem::path& file, Metadata* metadata) {
  auto mapped = io::MappedFile::open(file);
  auto layout = io::parse_safetensors_layout(mapped->bytes(), file.string());
  StateDict tensors;
  const std::byte* data = mapped->bytes().data() + layout.data_start;
  for (auto& entry : layout.tensors) {
    const std::byte* p = data + entry.begin;
    // The header length need not be a multiple of 8, so a view could be misaligned for its
    // element type; such tensors are copied into aligned storage instead.
    if (reinterpret_cast<std::uintptr_t>(p) % dtype_size(entry.dtype) == 0) {
      tensors.emplace(entry.name, Tensor::view(entry.dtype, std::move(entry.shape), p, mapped));
    } else {
      Tensor t(entry.dtype, std::move(entry.shape));
      if (t.nbytes() != 0) std::memcpy(t.mutable_data(), p, t.nbytes());
      tensors.emplace(entry.name, std::move(t));
    }
  }
  if (metadata != nullptr) *metadata = std::move(layout.metadata);
  return tensors;
}

StateDict parse_safetensors(std::span<const std::byte> bytes, Metadata* metadata) {
  auto layout = io::parse_safetensors_layout(bytes, "<safetensors in memory>");
  StateDict tensors;
  for (auto& entry : layout.tensors) {
    Tensor t(entry.dtype, std::move(entry.shape));
    if (t.nbytes() != 0) {
      std::memcpy(t.mutable_data(), bytes.data() + layout.data_start + entry.begin, t.nbytes());
    }
    tensors.emplace(entry.name, std::move(t));
  }
  if (metadata != nullptr) *metadata = std::move(layout.metadata);
  return tensors;
}

}  // namespace bertkit
