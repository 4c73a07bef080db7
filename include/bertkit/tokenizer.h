// BertTokenizer: the same tokens, ids and text as transformers' Python `BertTokenizer`.
//
// Pipeline (as in HF tokenizers): added/special tokens are split out first, then
//   normalize (clean, CJK spacing, lower-case, NFD + strip Mn)  -> src/tokenizer/normalizer
//   pre-tokenize (whitespace, punctuation)                      -> src/tokenizer/pre_tokenizer
//   WordPiece (greedy longest match, "##")                      -> src/tokenizer/wordpiece
//   post-process ([CLS] A [SEP] B [SEP], truncation, padding)   -> src/tokenizer/post_processor
//   decode (join, merge "##", clean up spaces)                  -> src/tokenizer/decoder
// All text is UTF-8; invalid UTF-8 throws FormatError naming the byte offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bertkit {

// HF `padding=`: False / True or "longest" / "max_length".
enum class Padding { kDoNotPad, kLongest, kMaxLength };
// HF `truncation=`: False / True or "longest_first" / "only_first" / "only_second".
enum class Truncation { kDoNotTruncate, kLongestFirst, kOnlyFirst, kOnlySecond };

Padding parse_padding(std::string_view name);        // "longest", "max_length", "do_not_pad", ...
Truncation parse_truncation(std::string_view name);  // "longest_first", "only_first", ...

// The keyword arguments of `tokenizer(text, text_pair, **kwargs)`, HF names and defaults.
struct EncodeOptions {
  bool add_special_tokens = true;
  Padding padding = Padding::kDoNotPad;
  Truncation truncation = Truncation::kDoNotTruncate;
  // Unset means "the model's maximum" (model_max_length) where HF would use it.
  std::optional<std::size_t> max_length;
  std::optional<std::size_t> pad_to_multiple_of;
};

// One encoded sequence (a row of HF's BatchEncoding).
struct Encoding {
  std::vector<std::int32_t> input_ids;
  std::vector<std::int32_t> token_type_ids;
  std::vector<std::int32_t> attention_mask;
  std::vector<std::int32_t> special_tokens_mask;  // 1 for [CLS]/[SEP]/[PAD] added by encoding
  // Per token: [start, end) in Unicode code points of the text it came from (HF fast tokenizers'
  // `offset_mapping`); (0, 0) for tokens added by encoding.
  std::vector<std::pair<std::size_t, std::size_t>> offset_mapping;
  // Per token: 0 = first text, 1 = text_pair, -1 = added token (HF `sequence_ids()`).
  std::vector<std::int32_t> sequence_ids;

  std::size_t size() const { return input_ids.size(); }
};

// A batch of encodings; rows are padded to a common length when padding was asked for.
struct BatchEncoding {
  std::vector<Encoding> encodings;

  std::size_t size() const { return encodings.size(); }
  const Encoding& operator[](std::size_t i) const { return encodings[i]; }
};

// Settings of a BERT tokenizer, as tokenizer_config.json / tokenizer.json describe them.
struct BertTokenizerConfig {
  bool do_lower_case = true;
  bool do_basic_tokenize = true;
  bool tokenize_chinese_chars = true;
  bool clean_text = true;
  // HF: None means "strip accents iff lower-casing".
  std::optional<bool> strip_accents;
  std::vector<std::string> never_split;
  std::string unk_token = "[UNK]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string cls_token = "[CLS]";
  std::string mask_token = "[MASK]";
  // Extra added tokens that are split out before normalisation (from added_tokens_decoder /
  // tokenizer.json "added_tokens"), beyond the five special tokens above.
  std::vector<std::string> additional_special_tokens;
  std::string wordpiece_prefix = "##";
  std::size_t max_input_chars_per_word = 100;
  // Unset when the files give no real limit (HF's "very large int").
  std::optional<std::size_t> model_max_length;
  bool padding_side_left = false;
  bool truncation_side_left = false;
  // Defaults stored in tokenizer.json ("truncation" / "padding" sections), applied by the CLI
  // and the data pipeline when the caller does not override them.
  std::optional<EncodeOptions> default_encode_options;
};

class BertTokenizer {
 public:
  // Loads a model folder like `BertTokenizer.from_pretrained(dir)`: vocab.txt with
  // tokenizer_config.json / special_tokens_map.json / added_tokens.json when present, else
  // tokenizer.json alone. A path that does not exist is taken as a hub repo id
  // ("bert-base-uncased", "org/name"): only its tokenizer files are fetched (cache first).
  static BertTokenizer from_pretrained(const std::filesystem::path& dir);
  static BertTokenizer from_vocab_file(const std::filesystem::path& vocab_txt,
                                       BertTokenizerConfig config = {});
  static BertTokenizer from_tokenizer_json(const std::filesystem::path& tokenizer_json);
  // From an in-memory vocabulary (id = position).
  BertTokenizer(std::vector<std::string> vocab, BertTokenizerConfig config);

  BertTokenizer(BertTokenizer&&) noexcept;
  BertTokenizer& operator=(BertTokenizer&&) noexcept;
  ~BertTokenizer();

  // `tokenizer.tokenize(text)`: word pieces, special tokens in the text kept whole.
  std::vector<std::string> tokenize(std::string_view text) const;

  std::int32_t convert_token_to_id(std::string_view token) const;  // unknown -> unk id
  std::vector<std::int32_t> convert_tokens_to_ids(std::span<const std::string> tokens) const;
  std::string convert_id_to_token(std::int32_t id) const;  // out of range -> InvalidArgument
  std::vector<std::string> convert_ids_to_tokens(std::span<const std::int32_t> ids,
                                                 bool skip_special_tokens = false) const;

  // `tokenizer(text)`, `tokenizer(text, text_pair)`.
  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  Encoding encode(std::string_view text, std::string_view text_pair,
                  const EncodeOptions& options = {}) const;
  // `tokenizer([texts])`, `tokenizer([texts], [pairs])`. Rows are encoded in parallel on
  // `num_threads` threads (0 = all cores); the result does not depend on the thread count.
  BatchEncoding encode_batch(std::span<const std::string> texts, const EncodeOptions& options = {},
                             unsigned num_threads = 0) const;
  BatchEncoding encode_batch(std::span<const std::string> texts,
                             std::span<const std::string> text_pairs,
                             const EncodeOptions& options = {}, unsigned num_threads = 0) const;

  // `tokenizer.decode(ids, skip_special_tokens, clean_up_tokenization_spaces)`.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false,
                     bool clean_up_tokenization_spaces = true) const;

  std::size_t vocab_size() const;
  const BertTokenizerConfig& config() const;
  std::int32_t pad_token_id() const;
  std::int32_t cls_token_id() const;
  std::int32_t sep_token_id() const;
  std::int32_t unk_token_id() const;
  std::int32_t mask_token_id() const;

  // Writes vocab.txt, tokenizer_config.json and special_tokens_map.json into `dir` (as
  // `save_pretrained` does), so a model folder bertkit writes loads in transformers.
  void save_pretrained(const std::filesystem::path& dir) const;

 private:
  struct Impl;
  explicit BertTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bertkit
