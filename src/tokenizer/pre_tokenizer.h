// BasicTokenizer: clean text, space out CJK ideographs, split on whitespace, normalise each word
// (lower-case, strip accents) and split off punctuation -- the words WordPiece then cuts up.
//
// Words made only of ASCII take a table-driven path that never decodes or allocates; a word with
// any other character goes through tok::normalizer exactly as transformers does it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tokenizer/normalizer.h"

namespace bertkit::tok {

struct BasicOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool lowercase = true;
  bool strip_accents = true;  // resolved: HF's None means "iff lowercase"
  // Off only without the basic tokenizer (do_basic_tokenize=False): then text is just
  // lower-cased per character and split on whitespace.
  bool split_punctuation = true;
  bool nfc = true;
};

struct Word {
  std::uint32_t begin, end;  // bytes of PreTokenized::text
  std::uint32_t orig_begin;  // original code point of text[begin] when !mapped
  bool mapped;               // offsets of each byte are in PreTokenized::byte_orig_*
  bool never_split;          // a never_split entry: kept whole, not cut by WordPiece
};

// The words of one text, reusable across calls to avoid allocations.
struct PreTokenized {
  std::string text;
  std::vector<Word> words;
  std::vector<std::uint32_t> byte_orig_begin, byte_orig_end;
  // Scratch of the current word.
  std::vector<std::uint32_t> token_orig;
  NormString cps, tmp1, tmp2;

  void clear() {
    text.clear();
    words.clear();
    byte_orig_begin.clear();
    byte_orig_end.clear();
  }
  // Original code point span of bytes [b, e) of word w.
  std::pair<std::size_t, std::size_t> offsets(const Word& w, std::uint32_t b,
                                              std::uint32_t e) const {
    if (!w.mapped) return {w.orig_begin + (b - w.begin), w.orig_begin + (e - w.begin)};
    return {byte_orig_begin[b], byte_orig_end[e - 1]};
  }
};

class BasicTokenizer {
 public:
  BasicTokenizer(BasicOptions options, const std::vector<std::string>& never_split);

  // Appends the words of `segment` to out. `byte_base` / `cp_base` place segment[0] in the whole
  // text (byte offset for error messages, code point index for offsets). Returns the number of
  // code points in the segment. Invalid UTF-8 throws FormatError.
  std::size_t split(std::string_view segment, std::size_t byte_base, std::size_t cp_base,
                    PreTokenized& out) const;

  const BasicOptions& options() const { return options_; }

 private:
  enum : std::uint8_t { kWordChar, kPunct, kSpace, kDrop };
  struct Token;
  void finish(Token& t, PreTokenized& out) const;
  void finish_ascii(Token& t, PreTokenized& out) const;
  void finish_complex(Token& t, PreTokenized& out) const;
  void emit(PreTokenized& out, std::uint32_t begin, std::uint32_t end, const Token& t,
            bool never_split) const;
  bool is_never_split(std::string_view word) const {
    return !never_split_.empty() && never_split_.count(std::string(word)) != 0;
  }

  BasicOptions options_;
  std::uint8_t ascii_class_[128];
  bool ascii_punct_[128];
  char ascii_lower_[128];
  std::unordered_set<std::string> never_split_;
};

}  // namespace bertkit::tok
