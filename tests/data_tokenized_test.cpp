// TokenizedDataset and the padding collator against the HF tokenizer goldens
// (fixtures/tokenizer_cases.jsonl, from transformers' BertTokenizer): truncated rows equal
// `tokenizer(text[, pair], truncation=..., max_length=...)`, and padded batches equal
// `tokenizer(batch, padding=True | "max_length")`. Dynamic, fixed and dataset-wide padding give the
// same unpadded content.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "bertkit/tokenizer.h"
#include "support/paths.h"

namespace bertkit {
namespace {

using nlohmann::json;

const BertTokenizer& tokenizer() {
  static const BertTokenizer tok =
      BertTokenizer::from_pretrained(testing::fixture("bert-base-uncased"));
  return tok;
}

std::vector<json> golden_cases() {
  std::vector<json> out;
  std::ifstream in(testing::fixture("tokenizer_cases.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

bool is_true_or(const json& v, const char* name) {
  return (v.is_boolean() && v.get<bool>()) || (v.is_string() && v.get<std::string>() == name);
}

std::vector<std::int32_t> row(const TokenizedDataset& d, std::size_t i) {
  const auto ids = d.rows.input_ids(i);
  return {ids.begin(), ids.end()};
}

// Every single-text and pair case encoded without padding, with special tokens, and either
// untruncated (then at most 512 tokens) or truncated longest_first at max_length.
TEST(TokenizedDataset, RowsMatchHfTokenizerGoldens) {
  std::size_t checked = 0;
  for (const auto& c : golden_cases()) {
    if (!c.contains("text") || c.contains("decode")) continue;
    const auto& kw = c["kwargs"];
    if (!kw["add_special_tokens"].get<bool>() || !(kw["padding"] == false)) continue;
    const bool truncated = is_true_or(kw["truncation"], "longest_first");
    if (!truncated && !(kw["truncation"] == false)) continue;
    const auto expected = c["input_ids"].get<std::vector<std::int32_t>>();
    if (!truncated && expected.size() > 512) continue;

    std::vector<std::string> pairs;
    if (c.contains("text_pair")) pairs.push_back(c["text_pair"].get<std::string>());
    const Dataset d = Dataset::from_texts({c["text"].get<std::string>()}, {}, pairs);
    TokenizeOptions options;
    options.truncation = truncated;
    if (truncated) options.max_length = kw["max_length"].get<std::size_t>();
    const auto t = TokenizedDataset::tokenize(d, tokenizer(), options);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(row(t, 0), expected) << c["id"];
    if (!pairs.empty()) {
      const auto types = c["token_type_ids"].get<std::vector<std::int32_t>>();
      EXPECT_EQ(t.rows.token_type_ids, types) << c["id"];
    } else {
      EXPECT_TRUE(t.rows.token_type_ids.empty()) << "single sentences store no type ids";
    }
    ++checked;
  }
  EXPECT_GT(checked, 200u);
}

// `tokenizer(batch, padding=True | "max_length", truncation=..., max_length=...)` == tokenizing
// the rows unpadded and padding them as a batch.
TEST(MakeBatch, PaddedBatchesMatchHfTokenizerGoldens) {
  std::size_t checked = 0;
  for (const auto& c : golden_cases()) {
    if (!c.contains("batch")) continue;
    const auto& kw = c["kwargs"];
    if (!kw["add_special_tokens"].get<bool>() || kw["padding"] == false) continue;
    const bool max_length_padding = kw["padding"] == "max_length";
    const bool truncated = is_true_or(kw["truncation"], "longest_first");
    if (!truncated && !(kw["truncation"] == false)) continue;
    if (max_length_padding && kw["max_length"].is_null()) continue;

    std::vector<std::string> texts, pairs;
    for (const auto& item : c["batch"]) {
      if (item.is_array()) {
        texts.push_back(item[0].get<std::string>());
        pairs.push_back(item[1].get<std::string>());
      } else {
        texts.push_back(item.get<std::string>());
      }
    }
    const Dataset d = Dataset::from_texts(texts, {}, pairs);
    TokenizeOptions options;
    options.truncation = truncated;
    // With truncation off, max_length only matters for padding="max_length".
    if (!kw["max_length"].is_null()) options.max_length = kw["max_length"].get<std::size_t>();
    const auto t = TokenizedDataset::tokenize(d, tokenizer(), options);
    std::vector<std::size_t> all(t.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    const Batch b =
        make_batch(t, all, {.mode = max_length_padding ? PadMode::kMaxLength : PadMode::kDynamic});
    const auto ids = c["input_ids"].get<std::vector<std::vector<std::int32_t>>>();
    const auto mask = c["attention_mask"].get<std::vector<std::vector<std::int32_t>>>();
    const auto types = c["token_type_ids"].get<std::vector<std::vector<std::int32_t>>>();
    ASSERT_EQ(b.B, ids.size()) << c["id"];
    ASSERT_EQ(b.S, ids[0].size()) << c["id"];
    for (std::size_t r = 0; r < b.B; ++r) {
      const auto at = [&](const std::vector<std::int32_t>& v) {
        return std::vector<std::int32_t>(v.begin() + r * b.S, v.begin() + (r + 1) * b.S);
      };
      EXPECT_EQ(at(b.input_ids), ids[r]) << c["id"] << " row " << r;
      EXPECT_EQ(at(b.attention_mask), mask[r]) << c["id"] << " row " << r;
      EXPECT_EQ(at(b.token_type_ids), types[r]) << c["id"] << " row " << r;
    }
    ++checked;
  }
  EXPECT_GE(checked, 5u);
}

TEST(MakeBatch, DynamicFixedAndDatasetWidePaddingHoldTheSameTokens) {
  const Dataset d = Dataset::from_texts(
      {"A short one.", "A somewhat longer sentence, with a comma and more words in it.",
       "Mid size text here.", "x"},
      {1, 0, 1, 0});
  const auto t = TokenizedDataset::tokenize(d, tokenizer(), {.max_length = 32});
  const std::vector<std::size_t> rows{2, 0};  // not the longest row of the dataset
  const Batch dynamic = make_batch(t, rows, {.mode = PadMode::kDynamic});
  const Batch fixed = make_batch(t, rows, {.mode = PadMode::kMaxLength});
  const Batch wide = make_batch(t, rows, {.mode = PadMode::kLongestInDataset});
  const Batch multiple = make_batch(t, rows, {.pad_to_multiple_of = 8});
  EXPECT_EQ(dynamic.S, t.length(2));
  EXPECT_EQ(fixed.S, 32u);
  EXPECT_EQ(wide.S, t.longest());
  EXPECT_EQ(multiple.S % 8, 0u);
  for (const Batch* b : {&fixed, &wide, &multiple}) {
    EXPECT_EQ(b->labels, (std::vector<std::int64_t>{1, 1}));
    EXPECT_EQ(b->indices, rows);
    for (std::size_t r = 0; r < 2; ++r) {
      for (std::size_t s = 0; s < b->S; ++s) {
        const bool real = s < dynamic.S && dynamic.attention_mask[r * dynamic.S + s] == 1;
        EXPECT_EQ(b->attention_mask[r * b->S + s], real ? 1 : 0);
        EXPECT_EQ(b->input_ids[r * b->S + s], real ? dynamic.input_ids[r * dynamic.S + s] : 0);
        EXPECT_EQ(b->token_type_ids[r * b->S + s], 0);
      }
    }
  }
  EXPECT_THROW(make_batch(t, std::vector<std::size_t>{}, {}), InvalidArgument);
  EXPECT_THROW(make_batch(t, std::vector<std::size_t>{9}, {}), InvalidArgument);
  EXPECT_EQ(parse_pad_mode("max_length"), PadMode::kMaxLength);
  EXPECT_EQ(parse_pad_mode("longest"), PadMode::kDynamic);
  EXPECT_THROW(parse_pad_mode("huge"), InvalidArgument);
}

TEST(MakeBatch, RegressionLabelsAndPretokenizedRows) {
  const Dataset d = Dataset::read(testing::fixture("data/tokenized.jsonl"));
  const auto t = TokenizedDataset::tokenize(d, tokenizer(), {.max_length = 4});
  EXPECT_EQ(t.length(1), 6u);  // already tokenized rows are taken as they are
  const Batch b = make_batch(t, std::vector<std::size_t>{2, 1});
  EXPECT_EQ(b.S, 6u);
  EXPECT_EQ(b.attention_mask, (std::vector<std::int32_t>{1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(b.token_type_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_THROW(make_batch(t, std::vector<std::size_t>{1}, {.mode = PadMode::kMaxLength}),
               InvalidArgument);  // 6 tokens do not fit max_length 4

  TokenizedDataset reg = t;
  reg.labels = {.type = LabelType::kRegression, .values = {0.5f, 1.5f, 2.5f}};
  EXPECT_EQ(make_batch(reg, std::vector<std::size_t>{2, 0}).label_values,
            (std::vector<float>{2.5f, 0.5f}));
}

TEST(TokenizedDataset, ImdbReviewsAreTruncatedTo512) {
  BERTKIT_REQUIRE_SHARED("data/imdb/test.jsonl.gz");
  ImdbOptions options;
  options.data_dir = testing::shared("data/imdb");
  const Dataset test = Dataset::imdb("test", options);
  std::vector<std::size_t> pick(300);
  for (std::size_t i = 0; i < pick.size(); ++i) pick[i] = i * 83;  // both labels
  const Dataset sample = test.select(pick);
  const auto t = TokenizedDataset::tokenize(sample, tokenizer(), {.num_threads = 2});
  ASSERT_EQ(t.size(), 300u);
  EXPECT_EQ(t.max_length, 512u);  // this tokenizer has no model_max_length
  EXPECT_EQ(t.longest(), 512u);   // some reviews are longer
  EXPECT_EQ(t.labels.ids, sample.labels.ids);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto ids = t.rows.input_ids(i);
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids.front(), tokenizer().cls_token_id());
    EXPECT_EQ(ids.back(), tokenizer().sep_token_id());
    const auto full = tokenizer().encode(sample.texts[i]);
    if (full.size() <= 512) {
      EXPECT_EQ(std::vector<std::int32_t>(ids.begin(), ids.end()), full.input_ids) << "row " << i;
    }
  }
}

}  // namespace
}  // namespace bertkit
