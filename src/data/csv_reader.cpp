#include <charconv>
#include <unordered_map>

#include "bertkit/error.h"
#include "data/readers.h"

namespace bertkit::data {

namespace {

struct Record {
  std::size_t line = 0;  // where the record starts
  std::vector<std::string> fields;
};

// Splits the stream into records, counting physical lines (quoted fields may span several).
class RecordReader {
 public:
  RecordReader(GzReader& in, char delimiter, const RowBuilder& rows)
      : in_(in), delimiter_(delimiter), rows_(rows) {}

  bool next(Record& record) {
    record.fields.clear();
    record.line = line_;
    int c = in_.get();
    if (c < 0) return false;
    std::string field;
    for (;;) {
      field.clear();
      if (c == '"') {
        read_quoted(field);
        c = in_.get();
        if (c == '\r' && in_.peek() == '\n') c = in_.get();
        if (c != delimiter_ && c != '\n' && c >= 0) {
          rows_.fail(line_, "unexpected character '" + std::string(1, static_cast<char>(c)) +
                                "' after a closing quote (a quote inside a quoted field is "
                                "written \"\")");
        }
      } else {
        while (c != delimiter_ && c != '\n' && c >= 0) {
          if (c == '\r' && in_.peek() == '\n') {
            c = in_.get();
            break;
          }
          field.push_back(static_cast<char>(c));
          c = in_.get();
        }
      }
      record.fields.push_back(std::move(field));
      if (c == delimiter_) {
        c = in_.get();
        continue;
      }
      if (c == '\n') ++line_;
      return true;
    }
  }

 private:
  void read_quoted(std::string& field) {
    const std::size_t opened = line_;
    for (;;) {
      const int c = in_.get();
      if (c < 0) rows_.fail(opened, "a quoted field opened on this line is never closed");
      if (c == '"') {
        if (in_.peek() != '"') return;
        in_.get();
      } else if (c == '\n') {
        ++line_;
      }
      field.push_back(static_cast<char>(c));
    }
  }

  GzReader& in_;
  char delimiter_;
  const RowBuilder& rows_;
  std::size_t line_ = 1;
};

// "[1, 2, 3]", "1 2 3" or "1,2,3".
std::vector<std::int32_t> parse_ids(const std::string& text, const std::string& column,
                                    std::size_t line, const RowBuilder& rows) {
  std::vector<std::int32_t> out;
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '[' ||
                               text[i] == ']' || text[i] == '\t')) {
      ++i;
    }
  };
  skip();
  while (i < text.size()) {
    std::int32_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
    if (ec != std::errc() || ptr == text.data() + i) {
      rows.fail(line, "column \"" + column + "\" is not a list of 32-bit integers: \"" +
                          text.substr(0, 60) + "\"");
    }
    out.push_back(value);
    i = static_cast<std::size_t>(ptr - text.data());
    skip();
  }
  return out;
}

}  // namespace

void read_delimited(GzReader& in, char delimiter, const ReadOptions& options, RowBuilder& rows) {
  RecordReader reader(in, delimiter, rows);
  Record header;
  do {
    if (!reader.next(header)) rows.fail(1, "the file is empty: no header row");
  } while (header.fields.size() == 1 && header.fields[0].empty());
  if (header.fields[0].starts_with("\xEF\xBB\xBF")) header.fields[0].erase(0, 3);

  std::unordered_map<std::string, std::size_t> index;
  std::string names;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    index.emplace(header.fields[i], i);
    names += (i ? ", " : "") + header.fields[i];
  }
  const auto find = [&](const std::string& name) -> std::optional<std::size_t> {
    const auto it = index.find(name);
    if (it == index.end()) return std::nullopt;
    return it->second;
  };
  const auto require = [&](const std::string& name) {
    const auto column = find(name);
    if (!column) {
      rows.fail(header.line, "no column \"" + name + "\" in the header (columns: " + names + ")");
    }
    return *column;
  };

  const auto ids_column = find(options.input_ids_column);
  const bool tokenized = ids_column && !find(options.text_column);
  std::optional<std::size_t> text, pair, label, types, mask;
  if (tokenized) {
    types = find("token_type_ids");
    mask = find("attention_mask");
  } else {
    text = require(options.text_column);
    if (options.text_pair_column) pair = require(*options.text_pair_column);
  }
  if (options.label_column) {
    label = require(*options.label_column);
  } else {
    label = find("label");
  }

  Record record;
  while (!rows.full() && reader.next(record)) {
    if (record.fields.size() == 1 && record.fields[0].empty() && header.fields.size() > 1) {
      continue;
    }
    if (record.fields.size() != header.fields.size()) {
      rows.fail(record.line, std::to_string(record.fields.size()) + " fields, but the header has " +
                                 std::to_string(header.fields.size()) + " (" + names + ")");
    }
    std::optional<LabelCell> cell;
    if (label) cell = LabelCell{.kind = LabelCell::Kind::kText, .s = record.fields[*label]};
    if (tokenized) {
      const auto ids =
          parse_ids(record.fields[*ids_column], options.input_ids_column, record.line, rows);
      const auto t = types ? parse_ids(record.fields[*types], "token_type_ids", record.line, rows)
                           : std::vector<std::int32_t>{};
      const auto m = mask ? parse_ids(record.fields[*mask], "attention_mask", record.line, rows)
                          : std::vector<std::int32_t>{};
      rows.add_token_row(record.line, ids, t, m, std::move(cell));
    } else {
      std::optional<std::string> pair_text;
      if (pair) pair_text = std::move(record.fields[*pair]);
      rows.add_text_row(record.line, std::move(record.fields[*text]), std::move(pair_text),
                        std::move(cell));
    }
  }
}

}  // namespace bertkit::data
