#include <limits>
#include <nlohmann/json.hpp>

#include "bertkit/error.h"
#include "data/readers.h"

namespace bertkit::data {

namespace {

using nlohmann::json;

std::string column_list(const json& row) {
  std::string names;
  for (const auto& [key, value] : row.items()) names += (names.empty() ? "" : ", ") + key;
  return names.empty() ? "none" : names;
}

const std::string& string_field(const json& row, const std::string& column, std::size_t line,
                                const RowBuilder& rows) {
  const auto it = row.find(column);
  if (it == row.end()) {
    rows.fail(line, "missing column \"" + column + "\" (the row has: " + column_list(row) + ")");
  }
  if (!it->is_string()) {
    rows.fail(line, "column \"" + column + "\" is " + it->type_name() + ", not a string");
  }
  return it->get_ref<const std::string&>();
}

std::vector<std::int32_t> int_array(const json& row, const std::string& column, std::size_t line,
                                    const RowBuilder& rows) {
  std::vector<std::int32_t> out;
  const auto it = row.find(column);
  if (it == row.end()) return out;
  if (!it->is_array()) rows.fail(line, "column \"" + column + "\" is not an array of integers");
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number_integer() ||
        v.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max() ||
        v.get<std::int64_t>() < std::numeric_limits<std::int32_t>::min()) {
      rows.fail(line, "column \"" + column + "\" holds " + v.dump() + ", not a 32-bit integer");
    }
    out.push_back(static_cast<std::int32_t>(v.get<std::int64_t>()));
  }
  return out;
}

std::optional<LabelCell> label_field(const json& row, const ReadOptions& options, std::size_t line,
                                     const RowBuilder& rows) {
  const std::string column = options.label_column.value_or("label");
  const auto it = row.find(column);
  if (it == row.end()) {
    if (options.label_column) {
      rows.fail(line,
                "missing label column \"" + column + "\" (the row has: " + column_list(row) + ")");
    }
    return std::nullopt;
  }
  LabelCell cell;
  if (it->is_boolean()) {
    cell.kind = LabelCell::Kind::kInt;
    cell.i = it->get<bool>() ? 1 : 0;
  } else if (it->is_number_unsigned() &&
             it->get<std::uint64_t>() >
                 static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    rows.fail(line, "label " + it->dump() + " is too large");
  } else if (it->is_number_integer()) {
    cell.kind = LabelCell::Kind::kInt;
    cell.i = it->get<std::int64_t>();
  } else if (it->is_number_float()) {
    cell.kind = LabelCell::Kind::kFloat;
    cell.f = it->get<double>();
  } else if (it->is_string()) {
    cell.kind = LabelCell::Kind::kString;
    cell.s = it->get<std::string>();
  } else {
    rows.fail(line, "label \"" + column + "\" is " + it->type_name() +
                        ", not an integer, a number or a string");
  }
  return cell;
}

void add_row(const json& row, std::size_t line, const ReadOptions& options, RowBuilder& rows) {
  if (!row.is_object()) {
    rows.fail(line, std::string("a row must be a JSON object, not ") + row.type_name());
  }
  auto label = label_field(row, options, line, rows);
  if (row.contains(options.input_ids_column) && !row.contains(options.text_column)) {
    const auto ids = int_array(row, options.input_ids_column, line, rows);
    const auto types = int_array(row, "token_type_ids", line, rows);
    const auto mask = int_array(row, "attention_mask", line, rows);
    rows.add_token_row(line, ids, types, mask, std::move(label));
    return;
  }
  std::string text = string_field(row, options.text_column, line, rows);
  std::optional<std::string> pair;
  if (options.text_pair_column) pair = string_field(row, *options.text_pair_column, line, rows);
  rows.add_text_row(line, std::move(text), std::move(pair), std::move(label));
}

json parse(const std::string& text, std::size_t line, const RowBuilder& rows) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    rows.fail(line, std::string("malformed JSON: ") + e.what());
  }
}

}  // namespace

void read_json_lines(GzReader& in, const ReadOptions& options, RowBuilder& rows) {
  std::string line;
  std::size_t number = 0;
  bool first = true;
  while (!rows.full() && in.getline(line)) {
    ++number;
    const auto start = line.find_first_not_of(" \t\r\f\v");
    if (start == std::string::npos) continue;
    if (first && line[start] == '[') {
      const std::string all = line + "\n" + in.read_all();
      const json array = parse(all, number, rows);
      std::size_t index = 0;
      for (const auto& row : array) {
        if (rows.full()) break;
        add_row(row, ++index, options, rows);
      }
      return;
    }
    first = false;
    add_row(parse(line, number, rows), number, options, rows);
  }
}

}  // namespace bertkit::data
