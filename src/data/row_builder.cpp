#include "data/row_builder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "bertkit/error.h"
#include "data/utf8_check.h"

namespace bertkit::data {

namespace {

std::optional<std::int64_t> parse_int(const std::string& s) {
  std::int64_t value = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
  return value;
}

std::optional<double> parse_number(const std::string& s) {
  double value = 0.0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || begin == end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

RowBuilder::RowBuilder(const ReadOptions& options, std::string source)
    : options_(options), source_(std::move(source)) {
  dataset_.source = source_;
}

void RowBuilder::fail(std::size_t line, const std::string& what) const {
  throw FormatError(source_ + ":" + std::to_string(line) + ": " + what);
}

bool RowBuilder::full() const { return options_.max_rows && rows() >= *options_.max_rows; }

void RowBuilder::check_text(std::size_t line, const std::string& text, const char* column) const {
  if (const auto bad = find_invalid_utf8(text)) {
    fail(line, std::string("invalid UTF-8 in column \"") + column + "\" at byte " +
                   std::to_string(*bad) + " of the field");
  }
}

void RowBuilder::add_label(std::size_t line, std::optional<LabelCell> label) {
  if (!has_label_) has_label_ = label.has_value();
  if (*has_label_ != label.has_value()) {
    fail(line, *has_label_ ? "the row has no label while the rows before it have one"
                           : "the row has a label while the rows before it have none");
  }
  if (label) label_cells_.push_back(std::move(*label));
  lines_.push_back(line);
}

void RowBuilder::add_text_row(std::size_t line, std::string text,
                              std::optional<std::string> text_pair,
                              std::optional<LabelCell> label) {
  if (dataset_.pretokenized()) fail(line, "a text row among already tokenized rows");
  check_text(line, text, options_.text_column.c_str());
  if (text_pair) {
    check_text(line, *text_pair, options_.text_pair_column.value_or("text_pair").c_str());
    if (dataset_.text_pairs.size() != rows()) {
      fail(line, "the row has a text pair while the rows before it have none");
    }
    dataset_.text_pairs.push_back(std::move(*text_pair));
  } else if (!dataset_.text_pairs.empty()) {
    fail(line, "the row has no text pair while the rows before it have one");
  }
  dataset_.texts.push_back(std::move(text));
  add_label(line, std::move(label));
}

void RowBuilder::add_token_row(std::size_t line, std::span<const std::int32_t> input_ids,
                               std::span<const std::int32_t> token_type_ids,
                               std::span<const std::int32_t> attention_mask,
                               std::optional<LabelCell> label) {
  if (!dataset_.texts.empty()) fail(line, "an already tokenized row among text rows");
  for (const auto id : input_ids) {
    if (id < 0) fail(line, "negative token id " + std::to_string(id) + " in input_ids");
  }
  if (!token_type_ids.empty() && token_type_ids.size() != input_ids.size()) {
    fail(line, "token_type_ids has " + std::to_string(token_type_ids.size()) +
                   " entries but input_ids has " + std::to_string(input_ids.size()));
  }
  if (!attention_mask.empty() && attention_mask.size() != input_ids.size()) {
    fail(line, "attention_mask has " + std::to_string(attention_mask.size()) +
                   " entries but input_ids has " + std::to_string(input_ids.size()));
  }
  for (const auto m : attention_mask) {
    if (m != 0 && m != 1) fail(line, "attention_mask holds " + std::to_string(m) + ", not 0 or 1");
  }
  for (const auto t : token_type_ids) {
    if (t < 0) fail(line, "negative token type id " + std::to_string(t));
  }
  dataset_.tokens.push_back(input_ids, token_type_ids, attention_mask);
  add_label(line, std::move(label));
}

void RowBuilder::resolve_labels(Labels& labels) {
  using Kind = LabelCell::Kind;
  const std::size_t n = label_cells_.size();
  bool any_string = false, any_number = false, any_float = false;
  bool texts_all_int = true, texts_all_number = true;
  for (std::size_t r = 0; r < n; ++r) {
    auto& cell = label_cells_[r];
    switch (cell.kind) {
      case Kind::kString:
        any_string = true;
        break;
      case Kind::kInt:
        any_number = true;
        break;
      case Kind::kFloat:
        any_number = any_float = true;
        break;
      case Kind::kText:
        if (cell.s.empty()) fail(lines_[r], "empty label");
        if (const auto i = parse_int(cell.s)) {
          cell.i = *i;
          cell.f = static_cast<double>(*i);
        } else if (const auto f = parse_number(cell.s)) {
          texts_all_int = false;
          cell.f = *f;
        } else {
          texts_all_int = texts_all_number = false;
        }
        break;
    }
    if (any_string && any_number) fail(lines_[r], "labels mix strings and numbers");
  }
  // Turn untyped fields into what the whole column is.
  for (auto& cell : label_cells_) {
    if (cell.kind != Kind::kText) continue;
    cell.kind = texts_all_int ? Kind::kInt : texts_all_number ? Kind::kFloat : Kind::kString;
  }
  if (n > 0 && label_cells_[0].kind == Kind::kString) any_string = true;
  if (n > 0 && label_cells_[0].kind == Kind::kFloat) any_float = true;

  LabelType type = options_.label_type;
  if (type == LabelType::kNone) {
    type = (!any_string && any_float) ? LabelType::kRegression : LabelType::kClassification;
  }
  labels.type = type;
  if (type == LabelType::kRegression) {
    labels.values.reserve(n);
    for (std::size_t r = 0; r < n; ++r) {
      const auto& cell = label_cells_[r];
      double v = cell.kind == Kind::kInt ? static_cast<double>(cell.i) : cell.f;
      if (cell.kind == Kind::kString) {
        const auto parsed = parse_number(cell.s);
        if (!parsed) fail(lines_[r], "regression label \"" + cell.s + "\" is not a number");
        v = *parsed;
      }
      labels.values.push_back(static_cast<float>(v));
    }
    return;
  }

  std::map<std::string, std::int64_t> label2id = options_.label2id;
  const bool given = !label2id.empty();
  if (!given) {
    std::set<std::string> distinct;
    for (const auto& cell : label_cells_) {
      if (cell.kind == Kind::kString) distinct.insert(cell.s);
    }
    std::int64_t next = 0;
    for (const auto& name : distinct) label2id.emplace(name, next++);
  }
  labels.ids.reserve(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto& cell = label_cells_[r];
    if (cell.kind == Kind::kString) {
      const auto it = label2id.find(cell.s);
      if (it == label2id.end()) {
        std::string known;
        for (const auto& [name, id] : label2id) known += (known.empty() ? "" : ", ") + name;
        fail(lines_[r], "label \"" + cell.s + "\" is not in label2id (" + known + ")");
      }
      labels.ids.push_back(it->second);
    } else if (cell.kind == Kind::kFloat) {
      if (cell.f != std::floor(cell.f) || std::fabs(cell.f) > 9.0e15) {
        fail(lines_[r], "class label " + std::to_string(cell.f) + " is not an integer");
      }
      labels.ids.push_back(static_cast<std::int64_t>(cell.f));
    } else {
      labels.ids.push_back(cell.i);
    }
  }
  if (any_string || given) {
    // id2label, when the ids are 0..k-1 (always so when built here).
    std::vector<std::string> names(label2id.size());
    bool dense = true;
    for (const auto& [name, id] : label2id) {
      if (id < 0 || static_cast<std::size_t>(id) >= names.size()) {
        dense = false;
        break;
      }
      names[static_cast<std::size_t>(id)] = name;
    }
    if (dense) labels.names = std::move(names);
  }
}

Dataset RowBuilder::finish() {
  if (rows() == 0) throw FormatError(source_ + ": no rows");
  if (has_label_.value_or(false)) resolve_labels(dataset_.labels);
  return std::move(dataset_);
}

}  // namespace bertkit::data
