#include "train/python_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "bertkit/training_logs.h"

namespace bertkit::train {

namespace {

void append_u16_escape(std::string& out, std::uint32_t unit) {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "\\u%04x", unit);
  out += hex;
}

// Decodes one UTF-8 sequence at text[i]; malformed bytes become U+FFFD (as Python's
// errors="replace" would) so that writing a log never fails on a bad string.
std::uint32_t next_code_point(const std::string& text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  int extra = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) {
    ++i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    extra = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3;
    cp = c & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + static_cast<std::size_t>(extra) >= text.size()) {
    ++i;
    return 0xFFFD;
  }
  for (int k = 1; k <= extra; ++k) {
    const unsigned char cc = byte(i + static_cast<std::size_t>(k));
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += static_cast<std::size_t>(extra) + 1;
  return cp > 0x10FFFF ? 0xFFFD : cp;
}

void append_string(std::string& out, const std::string& text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const std::uint32_t cp = next_code_point(text, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (cp < 0x20 || (cp > 0x7F && cp < 0x10000)) {
          append_u16_escape(out, cp);
        } else if (cp >= 0x10000) {
          const std::uint32_t v = cp - 0x10000;
          append_u16_escape(out, 0xD800 + (v >> 10));
          append_u16_escape(out, 0xDC00 + (v & 0x3FF));
        } else {
          out += static_cast<char>(cp);
        }
    }
  }
  out += '"';
}

void append_float(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
  } else {
    out += python_float_repr(value);
  }
}

void dump(std::string& out, const nlohmann::ordered_json& value, int indent, bool sort_keys,
          int level) {
  const bool pretty = indent >= 0;
  const auto newline = [&](int depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * depth), ' ');
  };
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      return;
    case nlohmann::json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(value.get<std::int64_t>());
      return;
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(value.get<std::uint64_t>());
      return;
    case nlohmann::json::value_t::number_float:
      append_float(out, value.get<double>());
      return;
    case nlohmann::json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case nlohmann::json::value_t::array: {
      if (value.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += pretty ? "," : ", ";
        first = false;
        if (pretty) newline(level + 1);
        dump(out, item, indent, sort_keys, level + 1);
      }
      if (pretty) newline(level);
      out += ']';
      return;
    }
    case nlohmann::json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      std::vector<std::string> keys;
      for (auto it = value.begin(); it != value.end(); ++it) keys.push_back(it.key());
      if (sort_keys) std::sort(keys.begin(), keys.end());
      out += '{';
      bool first = true;
      for (const auto& key : keys) {
        if (!first) out += pretty ? "," : ", ";
        first = false;
        if (pretty) newline(level + 1);
        append_string(out, key);
        out += ": ";
        dump(out, value.at(key), indent, sort_keys, level + 1);
      }
      if (pretty) newline(level);
      out += '}';
      return;
    }
    default:
      out += "null";  // binary / discarded values never occur in what bertkit writes
  }
}

}  // namespace

std::string python_json_dumps(const nlohmann::ordered_json& value, int indent, bool sort_keys) {
  std::string out;
  dump(out, value, indent, sort_keys, 0);
  return out;
}

}  // namespace bertkit::train
