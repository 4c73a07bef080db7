#include "tokenizer/pre_tokenizer.h"

#include "tokenizer/char_classes.h"
#include "tokenizer/utf8.h"

namespace bertkit::tok {

// The whitespace-delimited token being read. ASCII tokens live in out.text from `begin`; once a
// non-ASCII character arrives the token is "complex" and collects code points in out.cps.
struct BasicTokenizer::Token {
  bool active = false;
  bool complex = false;
  bool identity = true;  // out.text[begin + i] came from original code point orig_start + i
  std::uint32_t begin = 0;
  std::uint32_t emitted = 0;  // words up to this byte of out.text are already emitted
  std::uint32_t orig_start = 0;
};

BasicTokenizer::BasicTokenizer(BasicOptions options, const std::vector<std::string>& never_split)
    : options_(options), never_split_(never_split.begin(), never_split.end()) {
  for (int b = 0; b < 128; ++b) {
    const char32_t c = static_cast<char32_t>(b);
    ascii_punct_[b] = options_.split_punctuation && is_punctuation(c);
    const std::uint8_t word_class = ascii_punct_[b] ? kPunct : kWordChar;
    const std::uint8_t space = kSpace, drop = kDrop;
    ascii_lower_[b] = static_cast<char>(options_.lowercase && b >= 'A' && b <= 'Z' ? b + 32 : b);
    if (options_.clean_text) {
      ascii_class_[b] = (b == 0 || is_control(c)) ? drop
                        : is_bert_whitespace(c)   ? space
                                                  : word_class;
    } else {
      ascii_class_[b] = is_python_space(c) ? space : word_class;
    }
  }
}

void BasicTokenizer::emit(PreTokenized& out, std::uint32_t begin, std::uint32_t end, const Token& t,
                          bool never_split) const {
  if (begin == end) return;
  if (t.identity && !t.complex) {
    out.words.push_back({begin, end, t.orig_start + (begin - t.begin), false, never_split});
  } else {
    out.words.push_back({begin, end, 0, true, never_split});
  }
}

void BasicTokenizer::finish_ascii(Token& t, PreTokenized& out) const {
  const auto end = static_cast<std::uint32_t>(out.text.size());
  if (!t.identity) {
    out.byte_orig_begin.resize(end);
    out.byte_orig_end.resize(end);
    for (std::uint32_t i = t.begin; i < end; ++i) {
      out.byte_orig_begin[i] = out.token_orig[i - t.begin];
      out.byte_orig_end[i] = out.token_orig[i - t.begin] + 1;
    }
  }
  if (is_never_split(std::string_view(out.text).substr(t.begin, end - t.begin))) {
    emit(out, t.begin, end, t, true);
    return;
  }
  std::uint32_t start = t.emitted;
  for (std::uint32_t i = t.emitted; i < end; ++i) {
    if (ascii_punct_[static_cast<unsigned char>(out.text[i])]) {
      emit(out, start, i, t, false);
      emit(out, i, i + 1, t, false);
      start = i + 1;
    }
  }
  emit(out, start, end, t, false);
}

void BasicTokenizer::finish_complex(Token& t, PreTokenized& out) const {
  NormString* cur = &out.cps;
  if (options_.lowercase) {
    lowercase_chars(*cur, out.tmp1);
    cur = &out.tmp1;
  }
  if (!options_.strip_accents && options_.nfc) {
    NormString& dst = (cur == &out.tmp1) ? out.tmp2 : out.tmp1;
    compose_nfc(*cur, dst);
    cur = &dst;
  }
  auto append_chars = [&](std::size_t from, std::size_t to, const NormString& s) {
    const auto begin = static_cast<std::uint32_t>(out.text.size());
    for (std::size_t i = from; i < to; ++i) {
      const std::size_t before = out.text.size();
      append_utf8(out.text, s[i].c);
      out.byte_orig_begin.resize(out.text.size(), s[i].orig_begin);
      out.byte_orig_end.resize(out.text.size(), s[i].orig_end);
      (void)before;
    }
    return begin;
  };
  // The byte maps must cover every byte of text, including earlier identity words.
  out.byte_orig_begin.resize(out.text.size());
  out.byte_orig_end.resize(out.text.size());
  if (!never_split_.empty()) {
    std::string word;
    for (const NormChar& nc : *cur) append_utf8(word, nc.c);
    if (is_never_split(word)) {
      const std::uint32_t b = append_chars(0, cur->size(), *cur);
      emit(out, b, static_cast<std::uint32_t>(out.text.size()), t, true);
      return;
    }
  }
  if (options_.strip_accents) {
    NormString& dst = (cur == &out.tmp1) ? out.tmp2 : out.tmp1;
    strip_accents(*cur, dst);
    cur = &dst;
  }
  const NormString& s = *cur;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (options_.split_punctuation && is_punctuation(s[i].c)) {
      if (start < i) {
        const std::uint32_t b = append_chars(start, i, s);
        emit(out, b, static_cast<std::uint32_t>(out.text.size()), t, false);
      }
      const std::uint32_t b = append_chars(i, i + 1, s);
      emit(out, b, static_cast<std::uint32_t>(out.text.size()), t, false);
      start = i + 1;
    }
  }
  if (start < s.size()) {
    const std::uint32_t b = append_chars(start, s.size(), s);
    emit(out, b, static_cast<std::uint32_t>(out.text.size()), t, false);
  }
}

void BasicTokenizer::finish(Token& t, PreTokenized& out) const {
  if (!t.active) return;
  if (t.complex) {
    finish_complex(t, out);
  } else {
    finish_ascii(t, out);
  }
  t = Token{};
}

std::size_t BasicTokenizer::split(std::string_view segment, std::size_t byte_base,
                                  std::size_t cp_base, PreTokenized& out) const {
  const auto* s = reinterpret_cast<const unsigned char*>(segment.data());
  const std::size_t n = segment.size();
  std::size_t pos = 0;
  auto cp = static_cast<std::uint32_t>(cp_base);
  Token t;
  // ASCII never grows when normalised; this keeps the copying loop free of reallocations.
  out.text.reserve(out.text.size() + n + 16);
  out.words.reserve(out.words.size() + n / 4 + 16);

  auto start_token = [&](std::uint32_t at) {
    t.active = true;
    t.complex = false;
    t.identity = true;
    t.begin = t.emitted = static_cast<std::uint32_t>(out.text.size());
    t.orig_start = at;
  };
  // Turns the ASCII token read so far into code points, so the rest goes through the
  // normaliser with it (NFC may combine an ASCII letter with a following mark).
  auto make_complex = [&]() {
    out.cps.clear();
    const auto end = static_cast<std::uint32_t>(out.text.size());
    for (std::uint32_t i = t.begin; i < end; ++i) {
      const std::uint32_t o =
          t.identity ? t.orig_start + (i - t.begin) : out.token_orig[i - t.begin];
      out.cps.push_back({static_cast<unsigned char>(out.text[i]), o, o + 1});
    }
    out.text.resize(t.begin);
    // Words split off by the fast path are redone by the normaliser.
    while (!out.words.empty() && out.words.back().begin >= t.begin) out.words.pop_back();
    t.emitted = t.begin;
    t.complex = true;
  };
  // Punctuation is split off while copying when no never_split entry could claim the token.
  const bool split_while_copying = never_split_.empty();

  while (pos < n) {
    const unsigned char b = s[pos];
    if (b < 0x80) {
      const std::uint8_t cls = ascii_class_[b];
      if (cls == kSpace) {
        finish(t, out);
      } else if (cls != kDrop) {
        if (!t.active) start_token(cp);
        if (t.complex) {
          out.cps.push_back({static_cast<char32_t>(b), cp, cp + 1});
        } else {
          if (t.identity && cp != t.orig_start + (out.text.size() - t.begin)) {
            out.token_orig.clear();
            for (std::uint32_t i = 0; i < out.text.size() - t.begin; ++i) {
              out.token_orig.push_back(t.orig_start + i);
            }
            t.identity = false;
          }
          if (!t.identity || !split_while_copying) {
            if (!t.identity) out.token_orig.push_back(cp);
            out.text.push_back(ascii_lower_[b]);
          } else {
            // The common case: a run of ASCII word characters and punctuation, whose words
            // are emitted right away.
            std::uint8_t k = cls;
            unsigned char c = b;
            for (;;) {
              if (k == kPunct) {
                const auto at = static_cast<std::uint32_t>(out.text.size());
                if (t.emitted < at) {
                  out.words.push_back(
                      {t.emitted, at, t.orig_start + (t.emitted - t.begin), false, false});
                }
                out.text.push_back(static_cast<char>(c));
                out.words.push_back({at, at + 1, t.orig_start + (at - t.begin), false, false});
                t.emitted = at + 1;
              } else {
                out.text.push_back(ascii_lower_[c]);
              }
              if (pos + 1 >= n || s[pos + 1] >= 0x80) break;
              c = s[pos + 1];
              k = ascii_class_[c];
              if (k != kWordChar && k != kPunct) break;
              ++pos;
              ++cp;
            }
          }
        }
      }
      ++pos;
      ++cp;
      continue;
    }
    const char32_t c = decode_utf8(segment, pos, byte_base);
    if (options_.clean_text && (c == 0xFFFD || is_control(c))) {
      // dropped: joins its neighbours into one word
    } else if (is_python_space(c) || (options_.clean_text && is_bert_whitespace(c))) {
      finish(t, out);
    } else if (options_.handle_chinese_chars && is_cjk(c)) {
      finish(t, out);
      start_token(cp);
      out.cps.clear();
      out.cps.push_back({c, cp, cp + 1});
      t.complex = true;
      finish(t, out);
    } else {
      if (!t.active) start_token(cp);
      if (!t.complex) make_complex();
      out.cps.push_back({c, cp, cp + 1});
    }
    ++cp;
  }
  finish(t, out);
  return cp - cp_base;
}

}  // namespace bertkit::tok
