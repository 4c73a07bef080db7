// The state behind bertkit::BertTokenizer, shared by tokenizer.cpp (encode / decode) and
// loader.cpp (from_pretrained / save_pretrained).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bertkit/tokenizer.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace bertkit {

// An added token (HF AddedToken): split out of the text before normalisation.
struct AddedTokenSpec {
  std::string content;
  std::int32_t id;
  bool special;
};

struct BertTokenizer::Impl {
  // `extra_added`: tokens with explicit ids (added_tokens.json, added_tokens_decoder,
  // tokenizer.json) beyond the special tokens named in config.
  Impl(std::vector<std::string> vocab, BertTokenizerConfig config,
       const std::vector<AddedTokenSpec>& extra_added);

  // tokenize() as ids with code point offsets into `text`.
  void tokenize_ids(std::string_view text, tok::TokenSequence& out) const;
  Encoding encode(std::string_view text, const std::string_view* pair,
                  const EncodeOptions& options) const;
  // Applies HF's defaults: an unset max_length becomes model_max_length where padding or
  // truncation needs one, or switches them off when there is no model maximum.
  EncodeOptions resolve(const EncodeOptions& options) const;
  // Encodes one row without padding (batch rows are padded together afterwards).
  Encoding encode_unpadded(std::string_view text, const std::string_view* pair,
                           const EncodeOptions& resolved) const;
  BatchEncoding encode_batch(std::span<const std::string> texts,
                             const std::span<const std::string>* pairs,
                             const EncodeOptions& options, unsigned num_threads) const;
  std::string id_to_token_or_unk(std::int32_t id) const;

  std::vector<std::string> vocab;  // id -> token
  BertTokenizerConfig config;
  tok::WordPiece wordpiece;
  tok::BasicTokenizer basic;
  tok::AddedTokenSplitter splitter;
  std::vector<AddedTokenSpec> added;                          // in id order
  std::unordered_map<std::int32_t, std::size_t> added_by_id;  // id -> index in added
  std::unordered_map<std::string, std::int32_t> added_by_content;
  std::unordered_set<std::int32_t> special_ids;
  std::unordered_set<std::string> never_split;  // the basic tokenizer's, kept whole by WordPiece
  std::int32_t unk_id = -1, cls_id = -1, sep_id = -1, pad_id = -1, mask_id = -1;
};

}  // namespace bertkit
