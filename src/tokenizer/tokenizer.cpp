// BertTokenizer's encode / decode paths (loading and saving are in loader.cpp).
#include <algorithm>
#include <exception>
#include <thread>

#include "bertkit/error.h"
#include "tokenizer/decoder.h"
#include "tokenizer/format.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace bertkit {

namespace {

tok::BasicOptions basic_options(const BertTokenizerConfig& c) {
  tok::BasicOptions o;
  if (c.do_basic_tokenize) {
    o.clean_text = c.clean_text;
    o.handle_chinese_chars = c.tokenize_chinese_chars;
    o.lowercase = c.do_lower_case;
    o.strip_accents = c.strip_accents.value_or(c.do_lower_case);
  } else {
    // Only PreTrainedTokenizer.tokenize's per-character lower-casing and WordPiece's
    // whitespace split remain.
    o.clean_text = false;
    o.handle_chinese_chars = false;
    o.lowercase = c.do_lower_case;
    o.strip_accents = false;
    o.split_punctuation = false;
    o.nfc = false;
  }
  return o;
}

// Per-thread scratch buffers, reused across calls.
struct Scratch {
  tok::PreTokenized words;
  std::vector<tok::Segment> segments;
  std::vector<tok::Piece> pieces;
};

constexpr std::size_t kBytesPerThread = 16 * 1024;

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

Padding parse_padding(std::string_view name) {
  if (name == "longest" || name == "true" || name == "True") return Padding::kLongest;
  if (name == "max_length") return Padding::kMaxLength;
  if (name == "do_not_pad" || name == "false" || name == "False") return Padding::kDoNotPad;
  throw InvalidArgument(tok::format(
      "unknown padding strategy '{}' (expected longest, max_length or do_not_pad)", name));
}

Truncation parse_truncation(std::string_view name) {
  if (name == "longest_first" || name == "true" || name == "True") return Truncation::kLongestFirst;
  if (name == "only_first") return Truncation::kOnlyFirst;
  if (name == "only_second") return Truncation::kOnlySecond;
  if (name == "do_not_truncate" || name == "false" || name == "False") {
    return Truncation::kDoNotTruncate;
  }
  throw InvalidArgument(tok::format(
      "unknown truncation strategy '{}' (expected longest_first, only_first, only_second or "
      "do_not_truncate)",
      name));
}

BertTokenizer::Impl::Impl(std::vector<std::string> vocab_in, BertTokenizerConfig config_in,
                          const std::vector<AddedTokenSpec>& extra_added)
    : vocab(std::move(vocab_in)),
      config(std::move(config_in)),
      wordpiece(vocab, config.wordpiece_prefix, config.max_input_chars_per_word, -1),
      basic(basic_options(config), config.never_split),
      never_split(config.never_split.begin(), config.never_split.end()) {
  std::int32_t next_id = static_cast<std::int32_t>(vocab.size());
  auto register_added = [&](const AddedTokenSpec& spec) {
    auto it = added_by_content.find(spec.content);
    if (it != added_by_content.end()) {
      // Already known: only upgrade to special.
      if (spec.special) {
        added[added_by_id.at(it->second)].special = true;
        special_ids.insert(it->second);
      }
      return;
    }
    added_by_id[spec.id] = added.size();
    added_by_content[spec.content] = spec.id;
    added.push_back(spec);
    splitter.add(spec.content, spec.id);
    if (spec.special) special_ids.insert(spec.id);
    next_id = std::max(next_id, spec.id + 1);
  };
  for (const AddedTokenSpec& spec : extra_added) register_added(spec);
  auto special = [&](const std::string& content) -> std::int32_t {
    if (content.empty()) return -1;
    if (auto it = added_by_content.find(content); it != added_by_content.end()) {
      register_added({content, it->second, true});
      return it->second;
    }
    std::int32_t id = wordpiece.find(content);
    if (id < 0) id = next_id;
    register_added({content, id, true});
    return id;
  };
  unk_id = special(config.unk_token);
  sep_id = special(config.sep_token);
  pad_id = special(config.pad_token);
  cls_id = special(config.cls_token);
  mask_id = special(config.mask_token);
  for (const std::string& t : config.additional_special_tokens) special(t);
  wordpiece.set_unk_id(unk_id);
}

void BertTokenizer::Impl::tokenize_ids(std::string_view text, tok::TokenSequence& out) const {
  out.clear();
  // Byte positions inside the tokenizer are 32-bit.
  if (text.size() >= (std::size_t{1} << 31)) {
    throw InvalidArgument(
        tok::format("text of {} bytes is too long to tokenize (limit 2 GiB)", text.size()));
  }
  Scratch& s = scratch();
  splitter.split(text, s.segments);
  std::size_t cp = 0;
  for (const tok::Segment& seg : s.segments) {
    const std::string_view piece = text.substr(seg.begin, seg.end - seg.begin);
    if (seg.added_id >= 0) {
      const std::size_t n = tok::count_code_points(piece);
      out.ids.push_back(seg.added_id);
      out.offsets.emplace_back(cp, cp + n);
      cp += n;
      continue;
    }
    tok::PreTokenized& words = s.words;
    words.clear();
    cp += basic.split(piece, seg.begin, cp, words);
    for (const tok::Word& w : words.words) {
      const std::string_view word(words.text.data() + w.begin, w.end - w.begin);
      if (w.never_split && never_split.count(std::string(word))) {
        const std::int32_t id = wordpiece.find(word);
        if (id < 0) out.literal_tokens.emplace_back(out.ids.size(), std::string(word));
        out.ids.push_back(id >= 0 ? id : unk_id);
        out.offsets.push_back(words.offsets(w, w.begin, w.end));
        continue;
      }
      s.pieces.clear();
      wordpiece.tokenize_word(word, w.begin, s.pieces);
      for (const tok::Piece& p : s.pieces) {
        out.ids.push_back(p.id);
        out.offsets.push_back(words.offsets(w, p.begin, p.end));
      }
    }
  }
}

EncodeOptions BertTokenizer::Impl::resolve(const EncodeOptions& options) const {
  EncodeOptions o = options;
  if (!o.max_length) {
    if (o.padding == Padding::kMaxLength) {
      if (config.model_max_length) {
        o.max_length = config.model_max_length;
      } else {
        o.padding = Padding::kDoNotPad;  // HF warns and does not pad
      }
    }
    if (o.truncation != Truncation::kDoNotTruncate) {
      if (config.model_max_length) {
        o.max_length = config.model_max_length;
      } else {
        o.truncation = Truncation::kDoNotTruncate;  // HF warns and does not truncate
      }
    }
  }
  if (o.truncation != Truncation::kDoNotTruncate && o.padding != Padding::kDoNotPad &&
      o.pad_to_multiple_of && o.max_length && *o.pad_to_multiple_of != 0 &&
      *o.max_length % *o.pad_to_multiple_of != 0) {
    throw InvalidArgument(
        tok::format("truncation and padding are both on, but max_length ({}) is not a multiple of "
                    "pad_to_multiple_of ({})",
                    *o.max_length, *o.pad_to_multiple_of));
  }
  if (o.padding != Padding::kDoNotPad && pad_id < 0) {
    throw InvalidArgument("padding was asked for but the tokenizer has no pad token");
  }
  return o;
}

Encoding BertTokenizer::Impl::encode_unpadded(std::string_view text, const std::string_view* pair,
                                              const EncodeOptions& o) const {
  tok::TokenSequence first, second;
  tokenize_ids(text, first);
  if (pair) tokenize_ids(*pair, second);
  const std::size_t total =
      first.size() + (pair ? second.size() : 0) + (o.add_special_tokens ? (pair ? 3 : 2) : 0);
  if (o.truncation != Truncation::kDoNotTruncate && o.max_length && *o.max_length > 0 &&
      total > *o.max_length) {
    tok::truncate_sequences(first, pair ? &second : nullptr, total - *o.max_length, o.truncation,
                            config.truncation_side_left);
  }
  return tok::assemble(first, pair ? &second : nullptr, o.add_special_tokens,
                       {cls_id, sep_id, pad_id});
}

Encoding BertTokenizer::Impl::encode(std::string_view text, const std::string_view* pair,
                                     const EncodeOptions& options) const {
  const EncodeOptions o = resolve(options);
  Encoding e = encode_unpadded(text, pair, o);
  if (o.padding == Padding::kLongest) {
    tok::pad_encoding(e, e.size(), o.pad_to_multiple_of, config.padding_side_left, pad_id);
  } else if (o.padding == Padding::kMaxLength) {
    tok::pad_encoding(e, *o.max_length, o.pad_to_multiple_of, config.padding_side_left, pad_id);
  }
  return e;
}

std::string BertTokenizer::Impl::id_to_token_or_unk(std::int32_t id) const {
  if (auto it = added_by_id.find(id); it != added_by_id.end()) return added[it->second].content;
  if (id >= 0 && static_cast<std::size_t>(id) < vocab.size()) return vocab[id];
  return config.unk_token;
}

// --- public API -------------------------------------------------------------------------------

BertTokenizer::BertTokenizer(std::vector<std::string> vocab, BertTokenizerConfig config)
    : impl_(std::make_unique<Impl>(std::move(vocab), std::move(config),
                                   std::vector<AddedTokenSpec>{})) {}
BertTokenizer::BertTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BertTokenizer::BertTokenizer(BertTokenizer&&) noexcept = default;
BertTokenizer& BertTokenizer::operator=(BertTokenizer&&) noexcept = default;
BertTokenizer::~BertTokenizer() = default;

std::vector<std::string> BertTokenizer::tokenize(std::string_view text) const {
  tok::TokenSequence seq;
  impl_->tokenize_ids(text, seq);
  std::vector<std::string> tokens;
  tokens.reserve(seq.size());
  for (std::int32_t id : seq.ids) tokens.push_back(impl_->id_to_token_or_unk(id));
  for (auto& [index, word] : seq.literal_tokens) tokens[index] = word;
  return tokens;
}

std::int32_t BertTokenizer::convert_token_to_id(std::string_view token) const {
  if (auto it = impl_->added_by_content.find(std::string(token));
      it != impl_->added_by_content.end()) {
    return it->second;
  }
  const std::int32_t id = impl_->wordpiece.find(token);
  return id >= 0 ? id : impl_->unk_id;
}

std::vector<std::int32_t> BertTokenizer::convert_tokens_to_ids(
    std::span<const std::string> tokens) const {
  std::vector<std::int32_t> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) ids.push_back(convert_token_to_id(t));
  return ids;
}

std::string BertTokenizer::convert_id_to_token(std::int32_t id) const {
  if (auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) {
    return impl_->added[it->second].content;
  }
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->vocab.size()) {
    throw InvalidArgument(
        tok::format("token id {} is out of range (vocabulary size {})", id, impl_->vocab.size()));
  }
  return impl_->vocab[id];
}

std::vector<std::string> BertTokenizer::convert_ids_to_tokens(std::span<const std::int32_t> ids,
                                                              bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::int32_t id : ids) {
    if (skip_special_tokens && impl_->special_ids.count(id)) continue;
    // HF maps an unknown id to the unk token rather than failing.
    tokens.push_back(impl_->id_to_token_or_unk(id));
  }
  return tokens;
}

Encoding BertTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  return impl_->encode(text, nullptr, options);
}

Encoding BertTokenizer::encode(std::string_view text, std::string_view text_pair,
                               const EncodeOptions& options) const {
  return impl_->encode(text, &text_pair, options);
}

BatchEncoding BertTokenizer::Impl::encode_batch(std::span<const std::string> texts,
                                                const std::span<const std::string>* pairs,
                                                const EncodeOptions& options,
                                                unsigned num_threads) const {
  const Impl& impl = *this;
  const EncodeOptions o = impl.resolve(options);
  BatchEncoding batch;
  batch.encodings.resize(texts.size());
  auto run = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      std::string_view pair;
      if (pairs) pair = (*pairs)[i];
      try {
        batch.encodings[i] = impl.encode_unpadded(texts[i], pairs ? &pair : nullptr, o);
      } catch (const FormatError& e) {
        throw FormatError(tok::format("batch row {}: {}", i, e.what()));
      }
    }
  };
  if (num_threads == 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
  // A thread costs about as much as tokenizing tens of kilobytes: small batches use fewer.
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    bytes += texts[i].size() + (pairs ? (*pairs)[i].size() : 0);
  }
  const std::size_t workers = std::min<std::size_t>(
      {num_threads, texts.size(), std::max<std::size_t>(1, bytes / kBytesPerThread)});
  if (workers <= 1) {
    run(0, texts.size());
  } else {
    // Contiguous chunks; the first failing chunk's error is rethrown, so errors are
    // deterministic too.
    std::vector<std::exception_ptr> errors(workers);
    std::vector<std::thread> threads;
    const std::size_t chunk = (texts.size() + workers - 1) / workers;
    for (std::size_t w = 0; w < workers; ++w) {
      const std::size_t begin = w * chunk, end = std::min(texts.size(), begin + chunk);
      threads.emplace_back([&, w, begin, end] {
        try {
          run(begin, end);
        } catch (...) {
          errors[w] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }
  if (o.padding != Padding::kDoNotPad) {
    std::size_t length = 0;
    if (o.padding == Padding::kLongest) {
      for (const Encoding& e : batch.encodings) length = std::max(length, e.size());
    } else {
      length = *o.max_length;
    }
    for (Encoding& e : batch.encodings) {
      tok::pad_encoding(e, length, o.pad_to_multiple_of, impl.config.padding_side_left,
                        impl.pad_id);
    }
  }
  return batch;
}

BatchEncoding BertTokenizer::encode_batch(std::span<const std::string> texts,
                                          const EncodeOptions& options,
                                          unsigned num_threads) const {
  return impl_->encode_batch(texts, nullptr, options, num_threads);
}

BatchEncoding BertTokenizer::encode_batch(std::span<const std::string> texts,
                                          std::span<const std::string> text_pairs,
                                          const EncodeOptions& options,
                                          unsigned num_threads) const {
  if (texts.size() != text_pairs.size()) {
    throw InvalidArgument(
        tok::format("encode_batch: {} texts but {} text pairs", texts.size(), text_pairs.size()));
  }
  return impl_->encode_batch(texts, &text_pairs, options, num_threads);
}

std::string BertTokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens,
                                  bool clean_up_tokenization_spaces) const {
  const std::vector<std::string> tokens = convert_ids_to_tokens(ids, skip_special_tokens);
  // Non-special added tokens are joined on their own, outside the "##" merging (HF's
  // legacy_added_tokens), then everything is joined with spaces.
  std::vector<std::string> parts;
  std::vector<std::string_view> current;
  for (const std::string& t : tokens) {
    auto it = impl_->added_by_content.find(t);
    const bool legacy =
        it != impl_->added_by_content.end() && !impl_->special_ids.count(it->second);
    if (legacy) {
      if (!current.empty()) {
        std::string s = tok::join_word_pieces(current);
        if (!s.empty()) parts.push_back(std::move(s));
        current.clear();
      }
      parts.push_back(t);
    } else {
      current.push_back(t);
    }
  }
  if (!current.empty()) parts.push_back(tok::join_word_pieces(current));
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) text.push_back(' ');
    text.append(parts[i]);
  }
  return clean_up_tokenization_spaces ? tok::clean_up_tokenization(std::move(text)) : text;
}

std::size_t BertTokenizer::vocab_size() const { return impl_->wordpiece.size(); }
const BertTokenizerConfig& BertTokenizer::config() const { return impl_->config; }
std::int32_t BertTokenizer::pad_token_id() const { return impl_->pad_id; }
std::int32_t BertTokenizer::cls_token_id() const { return impl_->cls_id; }
std::int32_t BertTokenizer::sep_token_id() const { return impl_->sep_id; }
std::int32_t BertTokenizer::unk_token_id() const { return impl_->unk_id; }
std::int32_t BertTokenizer::mask_token_id() const { return impl_->mask_id; }

}  // namespace bertkit
