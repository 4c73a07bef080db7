// UTF-8 decoding and encoding. Decoding is strict (RFC 3629): overlong forms, surrogates, code
// points above U+10FFFF and truncated sequences throw FormatError naming the byte offset.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bertkit::tok {

// Decodes the code point that starts at text[pos] and advances pos past it. `base_offset` is
// added to the byte offset in error messages (text may be a slice of a larger input).
char32_t decode_utf8(std::string_view text, std::size_t& pos, std::size_t base_offset = 0);

// Throws FormatError at the first invalid byte.
void validate_utf8(std::string_view text);

void append_utf8(std::string& out, char32_t cp);

// Number of code points in valid UTF-8 (counts non-continuation bytes).
std::size_t count_code_points(std::string_view valid_utf8);

inline bool is_utf8_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace bertkit::tok
