#include <algorithm>

#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "bertkit/tokenizer.h"

namespace bertkit {

namespace {
// Rows are encoded in chunks so the tokenizer's per-row vectors (offsets, masks, ...) never exist
// for the whole dataset at once; only the flat ids are kept.
constexpr std::size_t kChunkRows = 2048;
}  // namespace

std::size_t TokenizedDataset::longest() const {
  std::size_t longest = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) longest = std::max(longest, rows.length(i));
  return longest;
}

TokenizedDataset TokenizedDataset::tokenize(const Dataset& dataset, const BertTokenizer& tokenizer,
                                            const TokenizeOptions& options) {
  TokenizedDataset out;
  out.labels = dataset.labels;
  out.pad_token_id = tokenizer.pad_token_id();
  out.max_length = options.max_length.value_or(tokenizer.config().model_max_length.value_or(512));
  if (out.max_length == 0) throw InvalidArgument("tokenize: max_length must be positive");
  if (dataset.pretokenized()) {
    out.rows = dataset.tokens;
    return out;
  }

  EncodeOptions encode;
  encode.add_special_tokens = true;
  encode.padding = Padding::kDoNotPad;
  encode.truncation = options.truncation ? Truncation::kLongestFirst : Truncation::kDoNotTruncate;
  encode.max_length = out.max_length;

  const std::size_t n = dataset.texts.size();
  const std::span<const std::string> texts(dataset.texts);
  const std::span<const std::string> pairs(dataset.text_pairs);
  for (std::size_t start = 0; start < n; start += kChunkRows) {
    const std::size_t count = std::min(kChunkRows, n - start);
    const BatchEncoding batch =
        dataset.has_pairs()
            ? tokenizer.encode_batch(texts.subspan(start, count), pairs.subspan(start, count),
                                     encode, options.num_threads)
            : tokenizer.encode_batch(texts.subspan(start, count), encode, options.num_threads);
    for (const auto& e : batch.encodings) {
      out.rows.push_back(e.input_ids, dataset.has_pairs()
                                          ? std::span<const std::int32_t>(e.token_type_ids)
                                          : std::span<const std::int32_t>{});
    }
  }
  return out;
}

}  // namespace bertkit
