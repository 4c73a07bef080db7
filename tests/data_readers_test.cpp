// The file readers behind Dataset::read: JSON Lines, CSV and TSV, gzip-compressed or not, label
// handling, already tokenized rows, and errors that name the file and line. The CSV quoting
// expectations come from Python's csv module (fixtures/data/quoting.expected.json).
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "support/paths.h"

namespace bertkit {
namespace {

namespace fs = std::filesystem;
using testing::fixture;

fs::path write_file(const std::string& name, const std::string& content) {
  static const fs::path dir = testing::make_temp_dir("bertkit-data-readers");
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// The FormatError/IoError message of reading `file`, or "" when it reads fine.
template <typename E = FormatError>
std::string error_of(const fs::path& file, const ReadOptions& options = {}) {
  try {
    Dataset::read(file, options);
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(JsonLines, ReadsTextAndIntegerLabelsSkippingBlankLines) {
  const Dataset d = Dataset::read(fixture("data/reviews.jsonl"));
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.texts[0], "A great film.");
  EXPECT_EQ(d.texts[1], "Dull and \"long\".\nVery long.");
  EXPECT_EQ(d.texts[2], "Ünïcödé ✓ 日本");
  EXPECT_EQ(d.labels.type, LabelType::kClassification);
  EXPECT_EQ(d.labels.ids, (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_TRUE(d.labels.names.empty());
  EXPECT_FALSE(d.has_pairs());
}

TEST(JsonLines, GzipGivesTheSameRows) {
  const Dataset plain = Dataset::read(fixture("data/reviews.jsonl"));
  const Dataset gz = Dataset::read(fixture("data/reviews.jsonl.gz"));
  EXPECT_EQ(gz.texts, plain.texts);
  EXPECT_EQ(gz.labels.ids, plain.labels.ids);
}

TEST(JsonLines, AJsonArrayFileIsReadToo) {
  const auto file =
      write_file("array.json", R"([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])");
  const Dataset d = Dataset::read(file);
  EXPECT_EQ(d.texts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.labels.ids, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(d.labels.names, (std::vector<std::string>{"x", "y"}));
}

TEST(JsonLines, PretokenizedRowsKeepIdsMasksAndTypes) {
  const Dataset d = Dataset::read(fixture("data/tokenized.jsonl"));
  ASSERT_TRUE(d.pretokenized());
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.tokens.offsets, (std::vector<std::size_t>{0, 3, 9, 12}));
  EXPECT_EQ(d.tokens.ids, (std::vector<std::int32_t>{101, 2023, 102, 101, 2023, 2003, 102, 1037,
                                                     102, 101, 102, 0}));
  EXPECT_EQ(d.tokens.token_type_ids,
            (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(d.tokens.attention_mask,
            (std::vector<std::int32_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(d.labels.ids, (std::vector<std::int64_t>{0, 1, 1}));
}

TEST(JsonLines, ColumnsAndMaxRowsAreConfigurable) {
  const auto file = write_file("cols.jsonl",
                               "{\"q\": \"who?\", \"p\": \"me.\", \"y\": 2}\n"
                               "{\"q\": \"why?\", \"p\": \"so.\", \"y\": 0}\n"
                               "{\"q\": \"how?\", \"p\": \"thus.\", \"y\": 1}\n");
  ReadOptions options;
  options.text_column = "q";
  options.text_pair_column = "p";
  options.label_column = "y";
  options.max_rows = 2;
  const Dataset d = Dataset::read(file, options);
  EXPECT_EQ(d.texts, (std::vector<std::string>{"who?", "why?"}));
  EXPECT_EQ(d.text_pairs, (std::vector<std::string>{"me.", "so."}));
  EXPECT_EQ(d.labels.ids, (std::vector<std::int64_t>{2, 0}));
}

TEST(JsonLines, WithoutALabelColumnTheDatasetIsUnlabeled) {
  const auto file = write_file("nolabel.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
  const Dataset d = Dataset::read(file);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.labels.type, LabelType::kNone);
  ReadOptions required;
  required.label_column = "label";
  EXPECT_NE(error_of(file, required).find("nolabel.jsonl:1: missing label column \"label\""),
            std::string::npos)
      << error_of(file, required);
}

TEST(JsonLines, FloatLabelsMeanRegressionAndLabel2idMapsStrings) {
  const auto reg = write_file(
      "reg.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 0.25}\n");
  const Dataset r = Dataset::read(reg);
  EXPECT_EQ(r.labels.type, LabelType::kRegression);
  EXPECT_EQ(r.labels.values, (std::vector<float>{1.0f, 0.25f}));

  const auto str =
      write_file("str.jsonl",
                 "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"neg\"}\n");
  ReadOptions options;
  options.label2id = {{"neg", 0}, {"pos", 1}};
  EXPECT_EQ(Dataset::read(str, options).labels.ids, (std::vector<std::int64_t>{1, 0}));
  options.label2id = {{"negative", 0}, {"pos", 1}};
  EXPECT_NE(error_of(str, options).find("str.jsonl:2: label \"neg\" is not in label2id"),
            std::string::npos)
      << error_of(str, options);
}

TEST(JsonLines, ErrorsNameTheFileAndLine) {
  const auto bad = write_file(
      "bad.jsonl", "{\"text\": \"a\", \"label\": 0}\n\n{\"text\": \"b\", \"label\": 1\n");
  EXPECT_NE(error_of(bad).find("bad.jsonl:3: malformed JSON"), std::string::npos) << error_of(bad);

  // nlohmann reports a number too large for a double as out_of_range, not parse_error (fuzz find).
  const auto huge = write_file("huge.jsonl", "{\"input_ids\": [1e1022], \"label\": 0}\n");
  EXPECT_NE(error_of(huge).find("huge.jsonl:1: malformed JSON"), std::string::npos)
      << error_of(huge);

  const auto missing = write_file("missing.jsonl", "{\"text\": \"a\"}\n{\"body\": \"b\"}\n");
  EXPECT_NE(error_of(missing).find("missing.jsonl:2: missing column \"text\" (the row has: body)"),
            std::string::npos)
      << error_of(missing);

  const auto not_string = write_file("num.jsonl", "{\"text\": 5}\n");
  EXPECT_NE(error_of(not_string).find("num.jsonl:1: column \"text\" is number"), std::string::npos)
      << error_of(not_string);

  const auto mixed = write_file(
      "mixed.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": \"pos\"}\n");
  EXPECT_NE(error_of(mixed).find("mixed.jsonl:2: labels mix strings and numbers"),
            std::string::npos)
      << error_of(mixed);

  const auto utf8 =
      write_file("utf8.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"bad \xC3\x28 byte\"}\n");
  EXPECT_NE(error_of(utf8).find("utf8.jsonl:2: malformed JSON"), std::string::npos)
      << error_of(utf8);

  const auto ragged =
      write_file("ragged.jsonl", "{\"input_ids\": [1, 2], \"attention_mask\": [1]}\n");
  EXPECT_NE(
      error_of(ragged).find("ragged.jsonl:1: attention_mask has 1 entries but input_ids has 2"),
      std::string::npos)
      << error_of(ragged);

  const auto array = write_file("notobj.jsonl", "[1, 2]\n");
  EXPECT_NE(error_of(array).find("notobj.jsonl:1: a row must be a JSON object"), std::string::npos)
      << error_of(array);

  EXPECT_NE(error_of(write_file("empty.jsonl", "\n\n")).find("no rows"), std::string::npos);
}

TEST(Csv, QuotingMatchesPythonsCsvModule) {
  std::ifstream in(fixture("data/quoting.expected.json"));
  const auto expected = nlohmann::json::parse(in);
  const Dataset d = Dataset::read(fixture("data/quoting.csv"));
  ASSERT_EQ(d.size(), expected.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d.texts[i], expected[i]["text"].get<std::string>()) << "row " << i;
    const std::int64_t label = expected[i]["label"] == "pos" ? 1 : 0;
    EXPECT_EQ(d.labels.ids[i], label) << "row " << i;
  }
  EXPECT_EQ(d.labels.names, (std::vector<std::string>{"neg", "pos"}));  // sorted, as run_glue
}

TEST(Csv, IntegerColumnsAreClassIdsAndBomIsIgnored) {
  const auto file = write_file("ints.csv", "\xEF\xBB\xBFtext,label\nhello,1\nworld,-1\n");
  const Dataset d = Dataset::read(file);
  EXPECT_EQ(d.labels.type, LabelType::kClassification);
  EXPECT_EQ(d.labels.ids, (std::vector<std::int64_t>{1, -1}));
  EXPECT_TRUE(d.labels.names.empty());
}

TEST(Csv, ErrorsNameTheFileAndLine) {
  const auto unterminated = write_file("open.csv", "text,label\na,0\n\"never closed,1\nmore\n");
  EXPECT_NE(
      error_of(unterminated).find("open.csv:3: a quoted field opened on this line is never closed"),
      std::string::npos)
      << error_of(unterminated);

  const auto fields = write_file("fields.csv", "text,label\na,0\n\"b\nc\",1\nd,1,extra\n");
  EXPECT_NE(error_of(fields).find("fields.csv:5: 3 fields, but the header has 2"),
            std::string::npos)
      << error_of(fields);

  const auto after_quote = write_file("after.csv", "text,label\n\"a\"b,0\n");
  EXPECT_NE(
      error_of(after_quote).find("after.csv:2: unexpected character 'b' after a closing quote"),
      std::string::npos)
      << error_of(after_quote);

  const auto header = write_file("header.csv", "sentence,label\na,0\n");
  EXPECT_NE(error_of(header).find(
                "header.csv:1: no column \"text\" in the header (columns: sentence, label)"),
            std::string::npos)
      << error_of(header);

  const auto utf8 = write_file("utf8.csv", "text,label\nfine,0\nbad \xED\xA0\x80 surrogate,1\n");
  EXPECT_NE(error_of(utf8).find("utf8.csv:3: invalid UTF-8 in column \"text\" at byte 4"),
            std::string::npos)
      << error_of(utf8);

  const auto empty_label = write_file("nolab.csv", "text,label\na,0\nb,\n");
  EXPECT_NE(error_of(empty_label).find("nolab.csv:3: empty label"), std::string::npos)
      << error_of(empty_label);
}

TEST(Tsv, PairsRegressionAndGzip) {
  ReadOptions options;
  options.text_column = "sentence1";
  options.text_pair_column = "sentence2";
  for (const char* name : {"data/pairs.tsv", "data/pairs.tsv.gz"}) {
    const Dataset d = Dataset::read(fixture(name), options);
    ASSERT_EQ(d.size(), 3u) << name;
    EXPECT_EQ(d.texts[1], "Dogs bark.");
    EXPECT_EQ(d.text_pairs[1], "Quoted\ttab");
    EXPECT_EQ(d.labels.type, LabelType::kRegression);
    EXPECT_EQ(d.labels.values, (std::vector<float>{0.8f, 2.5f, 1.0f}));
  }
}

TEST(Gzip, TruncatedOrMissingFilesAreIoErrors) {
  std::ifstream in(fixture("data/reviews.jsonl.gz"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto cut = write_file("cut.jsonl.gz", bytes.substr(0, bytes.size() - 20));
  EXPECT_NE(error_of<IoError>(cut).find("cut.jsonl.gz"), std::string::npos);
  EXPECT_NE(error_of<IoError>("/nonexistent/x.jsonl").find("cannot open /nonexistent/x.jsonl"),
            std::string::npos);
}

TEST(Formats, FromNamesAndExtensions) {
  EXPECT_EQ(data_format_from_path("a/b.jsonl.gz"), DataFormat::kJsonLines);
  EXPECT_EQ(data_format_from_path("b.JSON"), DataFormat::kJsonLines);
  EXPECT_EQ(data_format_from_path("b.csv.gz"), DataFormat::kCsv);
  EXPECT_EQ(data_format_from_path("b.tsv"), DataFormat::kTsv);
  EXPECT_THROW(data_format_from_path("b.txt"), InvalidArgument);
  EXPECT_EQ(parse_data_format("csv"), DataFormat::kCsv);
  EXPECT_THROW(parse_data_format("parquet"), InvalidArgument);
  // An explicit format overrides the name.
  const auto file = write_file("data.txt", "text\tlabel\na\t1\n");
  ReadOptions options;
  options.format = DataFormat::kTsv;
  EXPECT_EQ(Dataset::read(file, options).texts, (std::vector<std::string>{"a"}));
}

TEST(Dataset, SelectFromTextsAndLoadDataset) {
  const Dataset d = Dataset::from_texts({"a", "b", "c"}, {0, 1, 0});
  const std::vector<std::size_t> pick{2, 0};
  const Dataset s = d.select(pick);
  EXPECT_EQ(s.texts, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(s.labels.ids, (std::vector<std::int64_t>{0, 0}));
  const std::vector<std::size_t> bad{3};
  EXPECT_THROW(d.select(bad), InvalidArgument);
  EXPECT_THROW(Dataset::from_texts({"a"}, {0, 1}), InvalidArgument);

  DatasetSpec spec;
  spec.files["train"] = fixture("data/reviews.jsonl");
  EXPECT_EQ(load_dataset(spec, "train").size(), 3u);
  EXPECT_THROW(load_dataset(spec, "test"), InvalidArgument);
  spec.name = "squad";
  EXPECT_THROW(load_dataset(spec, "test"), InvalidArgument);
}

}  // namespace
}  // namespace bertkit
