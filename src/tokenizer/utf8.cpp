#include "tokenizer/utf8.h"

#include "bertkit/error.h"
#include "tokenizer/format.h"

namespace bertkit::tok {

namespace {

[[noreturn]] void fail(std::size_t offset, std::string_view why) {
  throw FormatError(format("invalid UTF-8 at byte offset {}: {}", offset, why));
}

}  // namespace

char32_t decode_utf8(std::string_view text, std::size_t& pos, std::size_t base_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const std::size_t at = base_offset + pos;
  const unsigned char b0 = s[pos];
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  std::size_t len;
  char32_t cp;
  char32_t min_cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min_cp = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min_cp = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min_cp = 0x10000;
  } else if (b0 == 0xC0 || b0 == 0xC1) {
    fail(at, format("overlong encoding (lead byte 0x{:02X})", b0));
  } else if (b0 >= 0x80 && b0 <= 0xBF) {
    fail(at, format("unexpected continuation byte 0x{:02X}", b0));
  } else {
    fail(at, format("byte 0x{:02X} would encode a code point above U+10FFFF", b0));
  }
  for (std::size_t i = 1; i < len; ++i) {
    if (pos + i >= n) fail(at, "truncated multi-byte sequence at end of text");
    const unsigned char b = s[pos + i];
    if (!is_utf8_continuation(b)) {
      fail(at, format("truncated multi-byte sequence (byte 0x{:02X} at offset {} is not a "
                      "continuation byte)",
                      b, at + i));
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min_cp) fail(at, format("overlong encoding of U+{:04X}", static_cast<unsigned>(cp)));
  if (cp >= 0xD800 && cp <= 0xDFFF) {
    fail(at, format("encoded surrogate U+{:04X}", static_cast<unsigned>(cp)));
  }
  if (cp > 0x10FFFF) fail(at, format("code point U+{:X} above U+10FFFF", unsigned(cp)));
  pos += len;
  return cp;
}

void validate_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
    } else {
      decode_utf8(text, pos);
    }
  }
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t count_code_points(std::string_view valid_utf8) {
  std::size_t n = 0;
  for (char c : valid_utf8) n += !is_utf8_continuation(static_cast<unsigned char>(c));
  return n;
}

}  // namespace bertkit::tok
