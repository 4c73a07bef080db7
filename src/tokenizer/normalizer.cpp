#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "tokenizer/char_classes.h"
#include "tokenizer/utf8.h"

namespace bertkit::tok {

namespace {

// Canonical decomposition of one code point (NFD of a single character).
int decompose(char32_t c, utf8proc_int32_t out[8]) {
  int last_boundclass = 0;
  const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), out, 8,
                                         UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || n > 8) {
    out[0] = static_cast<utf8proc_int32_t>(c);
    return 1;
  }
  return static_cast<int>(n);
}

}  // namespace

void lowercase_chars(const NormString& in, NormString& out) {
  out.clear();
  char32_t low[2];
  for (const NormChar& nc : in) {
    const int k = lower_char(nc.c, low);
    for (int i = 0; i < k; ++i) out.push_back({low[i], nc.orig_begin, nc.orig_end});
  }
}

void compose_nfc(const NormString& in, NormString& out) {
  out.clear();
  std::string utf8;
  for (const NormChar& nc : in) append_utf8(utf8, nc.c);
  utf8proc_uint8_t* composed = nullptr;
  const auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                static_cast<utf8proc_ssize_t>(utf8.size()), &composed,
                                static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (len < 0) {  // cannot happen for valid code points; keep the input rather than lose text
    out = in;
    return;
  }
  // The decomposed input, one entry per code point with its origin; each composed character
  // consumes as many entries as its own decomposition has.
  NormString decomposed;
  utf8proc_int32_t buf[8];
  for (const NormChar& nc : in) {
    const int k = decompose(nc.c, buf);
    for (int i = 0; i < k; ++i)
      decomposed.push_back({char32_t(buf[i]), nc.orig_begin, nc.orig_end});
  }
  const std::string_view view(reinterpret_cast<const char*>(composed), static_cast<size_t>(len));
  std::size_t pos = 0, next = 0;
  while (pos < view.size()) {
    const char32_t c = decode_utf8(view, pos);
    const int k = decompose(c, buf);
    std::uint32_t b = UINT32_MAX, e = 0;
    for (int i = 0; i < k && next < decomposed.size(); ++i, ++next) {
      b = std::min(b, decomposed[next].orig_begin);
      e = std::max(e, decomposed[next].orig_end);
    }
    if (b == UINT32_MAX) b = e = out.empty() ? 0 : out.back().orig_end;
    out.push_back({c, b, e});
  }
  std::free(composed);
}

void strip_accents(const NormString& in, NormString& out) {
  out.clear();
  utf8proc_int32_t buf[8];
  for (const NormChar& nc : in) {
    if (nc.c < 0xC0) {  // nothing below U+00C0 decomposes or is Mn
      out.push_back(nc);
      continue;
    }
    const int k = decompose(nc.c, buf);
    for (int i = 0; i < k; ++i) {
      const char32_t d = static_cast<char32_t>(buf[i]);
      if (!is_nonspacing_mark(d)) out.push_back({d, nc.orig_begin, nc.orig_end});
    }
  }
}

}  // namespace bertkit::tok
