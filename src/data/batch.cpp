#include <algorithm>

#include "bertkit/dataset.h"
#include "bertkit/error.h"

namespace bertkit {

PadMode parse_pad_mode(std::string_view name) {
  if (name == "dynamic" || name == "longest" || name == "true") return PadMode::kDynamic;
  if (name == "max_length") return PadMode::kMaxLength;
  if (name == "longest_in_dataset") return PadMode::kLongestInDataset;
  throw InvalidArgument("unknown padding \"" + std::string(name) +
                        "\" (dynamic / longest, max_length or longest_in_dataset)");
}

Batch make_batch(const TokenizedDataset& dataset, std::span<const std::size_t> indices,
                 const PadOptions& options) {
  if (indices.empty()) throw InvalidArgument("make_batch: no rows");
  const TokenRows& rows = dataset.rows;
  std::size_t longest = 0;
  for (const auto i : indices) {
    if (i >= rows.size()) {
      throw InvalidArgument("make_batch: row " + std::to_string(i) + " is out of range (" +
                            std::to_string(rows.size()) + " rows)");
    }
    longest = std::max(longest, rows.length(i));
  }
  std::size_t S = longest;
  if (options.mode == PadMode::kMaxLength) {
    if (longest > dataset.max_length) {
      throw InvalidArgument("make_batch: a row has " + std::to_string(longest) +
                            " tokens, more than max_length " + std::to_string(dataset.max_length) +
                            " (padding cannot shorten it; tokenize with truncation)");
    }
    S = dataset.max_length;
  } else if (options.mode == PadMode::kLongestInDataset) {
    S = dataset.longest();
  }
  if (options.pad_to_multiple_of && *options.pad_to_multiple_of > 0) {
    const std::size_t m = *options.pad_to_multiple_of;
    S = (S + m - 1) / m * m;
  }

  Batch b;
  b.B = indices.size();
  b.S = S;
  b.input_ids.assign(b.B * S, dataset.pad_token_id);
  b.attention_mask.assign(b.B * S, 0);
  b.token_type_ids.assign(b.B * S, 0);
  b.indices.assign(indices.begin(), indices.end());
  for (std::size_t r = 0; r < b.B; ++r) {
    const std::size_t row = indices[r];
    const std::size_t begin = rows.offsets[row];
    const std::size_t len = rows.length(row);
    std::copy_n(rows.ids.begin() + begin, len, b.input_ids.begin() + r * S);
    if (rows.attention_mask.empty()) {
      std::fill_n(b.attention_mask.begin() + r * S, len, 1);
    } else {
      std::copy_n(rows.attention_mask.begin() + begin, len, b.attention_mask.begin() + r * S);
    }
    if (!rows.token_type_ids.empty()) {
      std::copy_n(rows.token_type_ids.begin() + begin, len, b.token_type_ids.begin() + r * S);
    }
    if (dataset.labels.type == LabelType::kClassification) {
      b.labels.push_back(dataset.labels.ids[row]);
    } else if (dataset.labels.type == LabelType::kRegression) {
      b.label_values.push_back(dataset.labels.values[row]);
    }
  }
  return b;
}

}  // namespace bertkit
