#include "bertkit/dataset.h"

#include <algorithm>
#include <cctype>

#include "bertkit/error.h"
#include "data/readers.h"

namespace bertkit {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

DataFormat parse_data_format(std::string_view name) {
  const std::string n = lower(name);
  if (n == "auto") return DataFormat::kAuto;
  if (n == "json" || n == "jsonl" || n == "jsonlines" || n == "ndjson")
    return DataFormat::kJsonLines;
  if (n == "csv") return DataFormat::kCsv;
  if (n == "tsv") return DataFormat::kTsv;
  throw InvalidArgument("unknown data format \"" + std::string(name) +
                        "\" (expected auto, json, jsonl, csv or tsv)");
}

DataFormat data_format_from_path(const std::filesystem::path& file) {
  std::filesystem::path name = file.filename();
  if (lower(name.extension().string()) == ".gz") name = name.stem();
  const std::string ext = lower(name.extension().string());
  if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson") return DataFormat::kJsonLines;
  if (ext == ".csv") return DataFormat::kCsv;
  if (ext == ".tsv" || ext == ".tab") return DataFormat::kTsv;
  throw InvalidArgument("cannot tell the format of " + file.string() +
                        " from its name (.jsonl, .json, .csv, .tsv, optionally .gz); pass the "
                        "format explicitly");
}

void TokenRows::push_back(std::span<const std::int32_t> input_ids,
                          std::span<const std::int32_t> token_type_ids,
                          std::span<const std::int32_t> attention_mask) {
  const std::size_t before = ids.size();
  // The optional columns are materialised the first time a row needs them.
  const bool keep_types =
      !this->token_type_ids.empty() || std::any_of(token_type_ids.begin(), token_type_ids.end(),
                                                   [](std::int32_t t) { return t != 0; });
  const bool keep_mask =
      !this->attention_mask.empty() || std::any_of(attention_mask.begin(), attention_mask.end(),
                                                   [](std::int32_t m) { return m != 1; });
  ids.insert(ids.end(), input_ids.begin(), input_ids.end());
  if (keep_types) {
    this->token_type_ids.resize(before, 0);
    this->token_type_ids.insert(this->token_type_ids.end(), token_type_ids.begin(),
                                token_type_ids.end());
    this->token_type_ids.resize(ids.size(), 0);
  }
  if (keep_mask) {
    this->attention_mask.resize(before, 1);
    this->attention_mask.insert(this->attention_mask.end(), attention_mask.begin(),
                                attention_mask.end());
    this->attention_mask.resize(ids.size(), 1);
  }
  offsets.push_back(ids.size());
}

Dataset Dataset::read(const std::filesystem::path& file, const ReadOptions& options) {
  const DataFormat format =
      options.format == DataFormat::kAuto ? data_format_from_path(file) : options.format;
  data::GzReader in(file);
  data::RowBuilder rows(options, file.string());
  switch (format) {
    case DataFormat::kJsonLines:
      data::read_json_lines(in, options, rows);
      break;
    case DataFormat::kCsv:
      data::read_delimited(in, ',', options, rows);
      break;
    case DataFormat::kTsv:
      data::read_delimited(in, '\t', options, rows);
      break;
    case DataFormat::kAuto:
      break;
  }
  return rows.finish();
}

Dataset Dataset::from_texts(std::vector<std::string> texts, std::vector<std::int64_t> labels,
                            std::vector<std::string> text_pairs) {
  if (!labels.empty() && labels.size() != texts.size()) {
    throw InvalidArgument("from_texts: " + std::to_string(labels.size()) + " labels for " +
                          std::to_string(texts.size()) + " texts");
  }
  if (!text_pairs.empty() && text_pairs.size() != texts.size()) {
    throw InvalidArgument("from_texts: " + std::to_string(text_pairs.size()) + " text pairs for " +
                          std::to_string(texts.size()) + " texts");
  }
  Dataset d;
  d.source = "<memory>";
  d.texts = std::move(texts);
  d.text_pairs = std::move(text_pairs);
  if (!labels.empty()) {
    d.labels.type = LabelType::kClassification;
    d.labels.ids = std::move(labels);
  }
  return d;
}

Dataset Dataset::select(std::span<const std::size_t> indices) const {
  Dataset out;
  out.source = source;
  out.labels.type = labels.type;
  out.labels.names = labels.names;
  const std::size_t n = size();
  for (const auto i : indices) {
    if (i >= n) {
      throw InvalidArgument("select: index " + std::to_string(i) + " is out of range for " +
                            source + " (" + std::to_string(n) + " rows)");
    }
    if (pretokenized()) {
      const auto begin = tokens.offsets[i];
      const auto len = tokens.length(i);
      const auto span_of = [&](const std::vector<std::int32_t>& v) {
        return v.empty() ? std::span<const std::int32_t>{}
                         : std::span<const std::int32_t>(v.data() + begin, len);
      };
      out.tokens.push_back(span_of(tokens.ids), span_of(tokens.token_type_ids),
                           span_of(tokens.attention_mask));
    } else {
      out.texts.push_back(texts[i]);
      if (has_pairs()) out.text_pairs.push_back(text_pairs[i]);
    }
    if (!labels.ids.empty()) out.labels.ids.push_back(labels.ids[i]);
    if (!labels.values.empty()) out.labels.values.push_back(labels.values[i]);
  }
  return out;
}

Dataset load_dataset(const DatasetSpec& spec, std::string_view split) {
  const std::string s(split);
  if (const auto it = spec.files.find(s); it != spec.files.end()) {
    return Dataset::read(it->second, spec.read);
  }
  if (lower(spec.name) == "imdb") {
    return Dataset::imdb(s == "validation" ? "test" : s, spec.imdb);
  }
  if (!spec.name.empty()) {
    throw InvalidArgument("unknown dataset \"" + spec.name +
                          "\" (bertkit knows imdb; pass a file per split otherwise)");
  }
  throw InvalidArgument("no " + s + " data: give a file for the \"" + s + "\" split");
}

}  // namespace bertkit
