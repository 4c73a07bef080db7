// Collects the rows a reader parses into a Dataset, whatever the file format: validates the text
// (UTF-8) and the token rows, and decides the label type once every label has been seen, because
// a CSV column is only "integers" if all of its fields are (as pandas infers a column's dtype).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bertkit/dataset.h"

namespace bertkit::data {

struct LabelCell {
  enum class Kind {
    kText,    // an untyped CSV/TSV field: integer, number or string is decided per column
    kString,  // a JSON string
    kInt,     // a JSON integer (or boolean)
    kFloat,   // a JSON number with a fraction or exponent
  };
  Kind kind = Kind::kText;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;
};

class RowBuilder {
 public:
  RowBuilder(const ReadOptions& options, std::string source);

  // `line` is the 1-based line the row starts on (the row number for a JSON array).
  void add_text_row(std::size_t line, std::string text, std::optional<std::string> text_pair,
                    std::optional<LabelCell> label);
  void add_token_row(std::size_t line, std::span<const std::int32_t> input_ids,
                     std::span<const std::int32_t> token_type_ids,
                     std::span<const std::int32_t> attention_mask, std::optional<LabelCell> label);
  // max_rows reached: the reader may stop.
  bool full() const;
  std::size_t rows() const { return lines_.size(); }

  Dataset finish();

  // FormatError "source:line: what".
  [[noreturn]] void fail(std::size_t line, const std::string& what) const;
  const std::string& source() const { return source_; }

 private:
  void add_label(std::size_t line, std::optional<LabelCell> label);
  void check_text(std::size_t line, const std::string& text, const char* column) const;
  void resolve_labels(Labels& labels);

  const ReadOptions& options_;
  std::string source_;
  Dataset dataset_;
  std::vector<std::size_t> lines_;
  std::vector<LabelCell> label_cells_;
  std::optional<bool> has_label_;
};

}  // namespace bertkit::data
