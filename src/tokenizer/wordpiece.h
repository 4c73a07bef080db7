// WordPiece (transformers' WordpieceTokenizer): greedy longest-match-first over the vocabulary,
// continuation pieces carry the "##" prefix; a word longer than max_input_chars_per_word code
// points, or one that cannot be covered completely, becomes a single unk token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab_table.h"

namespace bertkit::tok {

struct Piece {
  std::int32_t id;
  std::uint32_t begin, end;  // bytes of the word this piece covers (the whole word for unk)
};

class WordPiece {
 public:
  WordPiece(const std::vector<std::string>& vocab, std::string prefix,
            std::size_t max_input_chars_per_word, std::int32_t unk_id);

  // Token -> id, -1 when absent.
  std::int32_t find(std::string_view token) const { return full_.find(token); }
  std::size_t size() const { return full_.size(); }
  void set_unk_id(std::int32_t id) { unk_id_ = id; }

  // Appends the pieces of one word (valid UTF-8, no whitespace); `begin` is added to the byte
  // ranges of the pieces.
  void tokenize_word(std::string_view word, std::uint32_t begin, std::vector<Piece>& out) const;

 private:
  VocabTable full_;          // every vocabulary entry
  VocabTable continuation_;  // entries starting with the prefix, keyed without it
  std::string prefix_;
  std::size_t max_chars_;
  std::int32_t unk_id_;
};

}  // namespace bertkit::tok
