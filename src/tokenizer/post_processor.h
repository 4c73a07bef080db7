// From token ids to model inputs, as transformers' prepare_for_model / pad do it for BERT:
// truncation (truncate_sequences), [CLS] A [SEP] (B [SEP]) with token type ids, and padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bertkit/tokenizer.h"

namespace bertkit::tok {

// The tokens of one text before post-processing.
struct TokenSequence {
  std::vector<std::int32_t> ids;
  std::vector<std::pair<std::size_t, std::size_t>> offsets;
  // never_split words missing from the vocabulary: tokenize() shows the word itself (HF does),
  // while its id is the unk id. (token index, word)
  std::vector<std::pair<std::size_t, std::string>> literal_tokens;

  std::size_t size() const { return ids.size(); }
  void clear() {
    ids.clear();
    offsets.clear();
    literal_tokens.clear();
  }
};

struct SpecialIds {
  std::int32_t cls, sep, pad;
};

// HF truncate_sequences. Where HF only logs an error (only_first / only_second / a single text
// too short to lose that many tokens) the sequences are left untouched, as HF does.
void truncate_sequences(TokenSequence& first, TokenSequence* second, std::size_t num_to_remove,
                        Truncation strategy, bool from_left);

// build_inputs_with_special_tokens + create_token_type_ids_from_sequences (+ masks, offsets).
// Without special tokens every token type id is 0, as in the slow tokenizer.
Encoding assemble(const TokenSequence& first, const TokenSequence* second, bool add_special_tokens,
                  const SpecialIds& ids);

// HF _pad: pads to `length` (rounded up to pad_to_multiple_of); never shortens.
void pad_encoding(Encoding& e, std::size_t length, std::optional<std::size_t> pad_to_multiple_of,
                  bool left, std::int32_t pad_id);

}  // namespace bertkit::tok
