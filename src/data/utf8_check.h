// Strict UTF-8 validation (RFC 3629: no overlong forms, surrogates or code points above
// U+10FFFF) for the text fields of data files, so a bad byte is reported with its file and line
// before any tokenizer sees it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace bertkit::data {

// The byte offset of the first invalid sequence, or nullopt when `text` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace bertkit::data
