// Every record of tests/fixtures/tokenizer_cases.jsonl (outputs of transformers 4.44.2
// BertTokenizer on bert-base-uncased) reproduced exactly, through the C++ API and through
// `bertkit tokenize --jsonl`; plus the notebook's examples.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bertkit/tokenizer.h"
#include "support/paths.h"

namespace {

using bertkit::BertTokenizer;
using bertkit::EncodeOptions;
using bertkit::Padding;
using bertkit::Truncation;
using nlohmann::json;

std::vector<json> load_cases() {
  std::ifstream in(bertkit::testing::fixture("tokenizer_cases.jsonl"));
  std::vector<json> cases;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) cases.push_back(json::parse(line));
  }
  return cases;
}

const BertTokenizer& tokenizer() {
  static const BertTokenizer t =
      BertTokenizer::from_pretrained(bertkit::testing::fixture("bert-base-uncased"));
  return t;
}

EncodeOptions options_from(const json& kwargs) {
  EncodeOptions o;
  o.add_special_tokens = kwargs.value("add_special_tokens", true);
  const json& p = kwargs["padding"];
  if (p.is_boolean()) {
    o.padding = p.get<bool>() ? Padding::kLongest : Padding::kDoNotPad;
  } else {
    o.padding = bertkit::parse_padding(p.get<std::string>());
  }
  const json& t = kwargs["truncation"];
  if (t.is_boolean()) {
    o.truncation = t.get<bool>() ? Truncation::kLongestFirst : Truncation::kDoNotTruncate;
  } else {
    o.truncation = bertkit::parse_truncation(t.get<std::string>());
  }
  if (!kwargs["max_length"].is_null()) o.max_length = kwargs["max_length"].get<std::size_t>();
  return o;
}

// The record's output fields as bertkit computes them (same keys as the golden).
json compute(const json& c) {
  const BertTokenizer& tok = tokenizer();
  json out;
  if (c.contains("decode")) {
    const auto ids = c["decode"].get<std::vector<std::int32_t>>();
    const json& kw = c["kwargs"];
    out["text"] = tok.decode(ids, kw.value("skip_special_tokens", false),
                             kw.value("clean_up_tokenization_spaces", true));
    out["tokens"] = tok.convert_ids_to_tokens(ids);
    return out;
  }
  const EncodeOptions o = options_from(c["kwargs"]);
  if (c.contains("batch")) {
    std::vector<std::string> texts, pairs;
    json tokens = json::array();
    for (const json& row : c["batch"]) {
      if (row.is_array()) {
        texts.push_back(row[0]);
        pairs.push_back(row[1]);
        tokens.push_back({tok.tokenize(texts.back()), tok.tokenize(pairs.back())});
      } else {
        texts.push_back(row);
        tokens.push_back(tok.tokenize(texts.back()));
      }
    }
    const auto batch =
        pairs.empty() ? tok.encode_batch(texts, o) : tok.encode_batch(texts, pairs, o);
    out["tokens"] = tokens;
    for (const auto& e : batch.encodings) {
      out["input_ids"].push_back(e.input_ids);
      out["token_type_ids"].push_back(e.token_type_ids);
      out["attention_mask"].push_back(e.attention_mask);
    }
    return out;
  }
  const std::string text = c["text"];
  out["tokens"] = tok.tokenize(text);
  bertkit::Encoding e;
  if (c.contains("text_pair")) {
    out["tokens_pair"] = tok.tokenize(c["text_pair"].get<std::string>());
    e = tok.encode(text, c["text_pair"].get<std::string>(), o);
  } else {
    e = tok.encode(text, o);
  }
  out["input_ids"] = e.input_ids;
  out["token_type_ids"] = e.token_type_ids;
  out["attention_mask"] = e.attention_mask;
  return out;
}

// Compares the golden's output fields; returns the names that differ.
std::vector<std::string> mismatches(const json& golden, const json& ours) {
  std::vector<std::string> bad;
  static const char* kFields[] = {"tokens", "tokens_pair", "input_ids", "token_type_ids",
                                  "attention_mask"};
  for (const char* f : kFields) {
    if (golden.contains(f) && (!ours.contains(f) || golden[f] != ours[f])) bad.push_back(f);
  }
  if (golden.contains("decode") && golden["text"] != ours.value("text", json())) {
    bad.push_back("text");
  }
  return bad;
}

TEST(TokenizerGolden, EveryCaseThroughTheApi) {
  const auto cases = load_cases();
  ASSERT_EQ(cases.size(), 261u);
  std::size_t passed = 0;
  for (const json& c : cases) {
    const auto bad = mismatches(c, compute(c));
    if (bad.empty()) {
      ++passed;
    } else {
      ADD_FAILURE() << c["id"] << " (" << c["category"] << ") differs in " << bad.front();
    }
  }
  std::cout << "[ tokenizer ] " << passed << " / " << cases.size()
            << " golden cases match exactly through the C++ API\n";
  EXPECT_EQ(passed, cases.size());
}

TEST(TokenizerGolden, EveryCaseThroughTheCli) {
  const auto out = bertkit::testing::make_temp_dir("tok-cli") / "out.jsonl";
  // Built with append: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
  std::string cmd = "'";
  for (const std::string& part :
       {bertkit::testing::cli_path().string(), std::string("' tokenize --model '"),
        bertkit::testing::fixture("bert-base-uncased").string(), std::string("' --jsonl < '"),
        bertkit::testing::fixture("tokenizer_cases.jsonl").string(), std::string("' > '"),
        out.string(), std::string("'")}) {
    cmd.append(part);
  }
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto cases = load_cases();
  std::ifstream in(out);
  std::size_t i = 0, passed = 0;
  for (std::string line; std::getline(in, line); ++i) {
    ASSERT_LT(i, cases.size());
    const json ours = json::parse(line);
    EXPECT_EQ(ours["id"], cases[i]["id"]);
    const auto bad = mismatches(cases[i], ours);
    if (bad.empty()) {
      ++passed;
    } else {
      ADD_FAILURE() << cases[i]["id"] << " differs in " << bad.front();
    }
  }
  EXPECT_EQ(i, cases.size());
  std::cout << "[ tokenizer ] " << passed << " / " << cases.size()
            << " golden cases match exactly through bertkit tokenize --jsonl\n";
  EXPECT_EQ(passed, cases.size());
}

// The examples of the notebook the project started from.
TEST(TokenizerNotebook, TokenizeKathmandu) {
  EXPECT_EQ(tokenizer().tokenize("i love kathmandu"),
            (std::vector<std::string>{"i", "love", "kathmandu"}));
}

TEST(TokenizerNotebook, ConvertTokensToIds) {
  const std::vector<std::string> tokens = {"[CLS]", "i",     "love", "kathmandu",
                                           "[SEP]", "[PAD]", "[PAD]"};
  EXPECT_EQ(tokenizer().convert_tokens_to_ids(tokens),
            (std::vector<std::int32_t>{101, 1045, 2293, 28045, 102, 0, 0}));
}

TEST(TokenizerNotebook, CallOnOneText) {
  const auto e = tokenizer().encode("i love kathmandu");
  EXPECT_EQ(e.input_ids, (std::vector<std::int32_t>{101, 1045, 2293, 28045, 102}));
  EXPECT_EQ(e.token_type_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 0}));
  EXPECT_EQ(e.attention_mask, (std::vector<std::int32_t>{1, 1, 1, 1, 1}));
}

TEST(TokenizerNotebook, SeedBatchPaddingTrueMaxLength5) {
  const std::vector<std::string> texts = {"I love Kathmandu", "Beautiful Nepal", "Mount Everest"};
  EncodeOptions o;
  o.padding = Padding::kLongest;
  o.max_length = 5;  // ignored: padding=True pads to the longest, no truncation asked
  const auto batch = tokenizer().encode_batch(texts, o);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].input_ids, (std::vector<std::int32_t>{101, 1045, 2293, 28045, 102}));
  EXPECT_EQ(batch[1].input_ids, (std::vector<std::int32_t>{101, 3376, 8222, 102, 0}));
  EXPECT_EQ(batch[2].input_ids, (std::vector<std::int32_t>{101, 4057, 23914, 102, 0}));
  EXPECT_EQ(batch[1].attention_mask, (std::vector<std::int32_t>{1, 1, 1, 1, 0}));
}

}  // namespace
