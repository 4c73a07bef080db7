// Loading and saving tokenizers: tokenizer.json alone behaves exactly like vocab.txt +
// tokenizer_config.json, the bert-mini folder loads, save_pretrained round-trips, bad folders
// fail with clear errors; encode_batch does not depend on the thread count.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/tokenizer.h"
#include "support/paths.h"

namespace {

namespace fs = std::filesystem;
using bertkit::BertTokenizer;
using bertkit::EncodeOptions;
using bertkit::Padding;
using bertkit::Truncation;

// The texts of every golden case (single, pair and batch rows).
std::vector<std::string> golden_texts() {
  std::ifstream in(bertkit::testing::fixture("tokenizer_cases.jsonl"));
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("text") && !j.contains("decode")) texts.push_back(j["text"]);
    if (j.contains("text_pair")) texts.push_back(j["text_pair"]);
    if (j.contains("batch")) {
      for (const auto& row : j["batch"]) {
        if (row.is_string()) {
          texts.push_back(row);
        } else {
          texts.push_back(row[0]);
          texts.push_back(row[1]);
        }
      }
    }
  }
  return texts;
}

void expect_same_tokenizer(const BertTokenizer& a, const BertTokenizer& b) {
  EXPECT_EQ(a.vocab_size(), b.vocab_size());
  EXPECT_EQ(a.cls_token_id(), b.cls_token_id());
  EXPECT_EQ(a.sep_token_id(), b.sep_token_id());
  EXPECT_EQ(a.pad_token_id(), b.pad_token_id());
  EXPECT_EQ(a.unk_token_id(), b.unk_token_id());
  EXPECT_EQ(a.mask_token_id(), b.mask_token_id());
  for (const std::string& text : golden_texts()) {
    EXPECT_EQ(a.tokenize(text), b.tokenize(text)) << text;
    const auto ea = a.encode(text, "pair [SEP] text"), eb = b.encode(text, "pair [SEP] text");
    EXPECT_EQ(ea.input_ids, eb.input_ids) << text;
    EXPECT_EQ(ea.token_type_ids, eb.token_type_ids) << text;
    EXPECT_EQ(ea.offset_mapping, eb.offset_mapping) << text;
  }
}

const BertTokenizer& base() {
  static const BertTokenizer t =
      BertTokenizer::from_pretrained(bertkit::testing::fixture("bert-base-uncased"));
  return t;
}

TEST(TokenizerLoading, TokenizerJsonAloneMatchesVocabTxt) {
  const fs::path dir = bertkit::testing::make_temp_dir("tok-json-only");
  fs::copy_file(bertkit::testing::fixture("bert-base-uncased/tokenizer.json"),
                dir / "tokenizer.json");
  const BertTokenizer from_json = BertTokenizer::from_pretrained(dir);
  EXPECT_EQ(from_json.vocab_size(), 30522u);
  expect_same_tokenizer(base(), from_json);
  expect_same_tokenizer(base(), BertTokenizer::from_tokenizer_json(dir / "tokenizer.json"));
}

TEST(TokenizerLoading, TokenizerConfigOverridesTheJsonNormalizer) {
  const fs::path dir = bertkit::testing::make_temp_dir("tok-json-cased");
  fs::copy_file(bertkit::testing::fixture("bert-base-uncased/tokenizer.json"),
                dir / "tokenizer.json");
  std::ofstream(dir / "tokenizer_config.json") << R"({"do_lower_case": false})";
  const BertTokenizer t = BertTokenizer::from_pretrained(dir);
  EXPECT_FALSE(t.config().do_lower_case);
  EXPECT_EQ(t.tokenize("Hello hello"), (std::vector<std::string>{"[UNK]", "hello"}));
}

TEST(TokenizerLoading, BertMiniFolder) {
  const BertTokenizer mini =
      BertTokenizer::from_pretrained(bertkit::testing::fixture("bert-mini-tokenizer"));
  EXPECT_EQ(mini.vocab_size(), 30522u);
  EXPECT_EQ(mini.pad_token_id(), 0);
  EXPECT_EQ(mini.unk_token_id(), 100);
  EXPECT_EQ(mini.cls_token_id(), 101);
  EXPECT_EQ(mini.sep_token_id(), 102);
  EXPECT_EQ(mini.mask_token_id(), 103);
  // model_max_length is int(1e30) there: HF's "no limit".
  EXPECT_FALSE(mini.config().model_max_length.has_value());
  EXPECT_TRUE(mini.config().do_lower_case);
  expect_same_tokenizer(base(), mini);
}

TEST(TokenizerLoading, SavePretrainedRoundTrips) {
  const fs::path dir = bertkit::testing::make_temp_dir("tok-save");
  bertkit::BertTokenizerConfig config = base().config();
  config.model_max_length = 512;
  config.padding_side_left = true;
  const BertTokenizer original = BertTokenizer::from_vocab_file(
      bertkit::testing::fixture("bert-base-uncased/vocab.txt"), config);
  original.save_pretrained(dir);
  for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  const BertTokenizer reloaded = BertTokenizer::from_pretrained(dir);
  EXPECT_EQ(reloaded.config().model_max_length, std::optional<std::size_t>(512));
  EXPECT_TRUE(reloaded.config().padding_side_left);
  expect_same_tokenizer(original, reloaded);
  // model_max_length now applies when max_length is unset.
  EncodeOptions o;
  o.truncation = Truncation::kLongestFirst;
  std::string long_text;
  for (int i = 0; i < 700; ++i) long_text += "word ";
  EXPECT_EQ(reloaded.encode(long_text, o).size(), 512u);
}

TEST(TokenizerLoading, AddedTokensBeyondTheVocabulary) {
  const fs::path dir = bertkit::testing::make_temp_dir("tok-added");
  fs::copy_file(bertkit::testing::fixture("bert-base-uncased/vocab.txt"), dir / "vocab.txt");
  std::ofstream(dir / "added_tokens.json") << R"({"<ent>": 30522})";
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"do_lower_case": true, "additional_special_tokens": ["<ent>"]})";
  const BertTokenizer t = BertTokenizer::from_pretrained(dir);
  EXPECT_EQ(t.tokenize("Hello<ent>World"), (std::vector<std::string>{"hello", "<ent>", "world"}));
  const auto e = t.encode("Hello<ent>World");
  EXPECT_EQ(e.input_ids, (std::vector<std::int32_t>{101, 7592, 30522, 2088, 102}));
  EXPECT_EQ(t.decode(e.input_ids, true), "hello world");
}

TEST(TokenizerLoading, ErrorsNameTheProblem) {
  const fs::path empty = bertkit::testing::make_temp_dir("tok-empty");
  EXPECT_THROW(BertTokenizer::from_pretrained(empty), bertkit::IoError);
  const fs::path bad = bertkit::testing::make_temp_dir("tok-bad");
  std::ofstream(bad / "tokenizer.json") << "{ not json";
  try {
    BertTokenizer::from_pretrained(bad);
    ADD_FAILURE() << "no error";
  } catch (const bertkit::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
  }
  std::ofstream(bad / "tokenizer.json", std::ios::trunc)
      << R"({"model": {"type": "BPE", "vocab": {}}})";
  EXPECT_THROW(BertTokenizer::from_pretrained(bad), bertkit::FormatError);
}

TEST(TokenizerLoading, TokenizerJsonDefaultsForTruncationAndPadding) {
  const fs::path dir = bertkit::testing::make_temp_dir("tok-json-defaults");
  std::ifstream in(bertkit::testing::fixture("bert-base-uncased/tokenizer.json"));
  nlohmann::json j = nlohmann::json::parse(in);
  j["truncation"] = {
      {"direction", "Right"}, {"max_length", 128}, {"strategy", "OnlySecond"}, {"stride", 0}};
  j["padding"] = {{"strategy", {{"Fixed", 128}}},
                  {"direction", "Left"},
                  {"pad_id", 0},
                  {"pad_type_id", 0},
                  {"pad_token", "[PAD]"},
                  {"pad_to_multiple_of", nullptr}};
  std::ofstream(dir / "tokenizer.json") << j.dump();
  const BertTokenizer t = BertTokenizer::from_pretrained(dir);
  ASSERT_TRUE(t.config().default_encode_options.has_value());
  const EncodeOptions& o = *t.config().default_encode_options;
  EXPECT_EQ(o.truncation, Truncation::kOnlySecond);
  EXPECT_EQ(o.padding, Padding::kMaxLength);
  EXPECT_EQ(o.max_length, std::optional<std::size_t>(128));
  EXPECT_TRUE(t.config().padding_side_left);
}

TEST(TokenizerBatch, ThreadCountDoesNotChangeTheResult) {
  std::vector<std::string> texts;
  for (int r = 0; r < 8; ++r) {
    for (const std::string& t : golden_texts()) texts.push_back(t);
  }
  EncodeOptions o;
  o.padding = Padding::kLongest;
  o.truncation = Truncation::kLongestFirst;
  o.max_length = 64;
  const auto one = base().encode_batch(texts, o, 1);
  const auto four = base().encode_batch(texts, o, 4);
  ASSERT_EQ(one.size(), four.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].input_ids, four[i].input_ids) << i;
    EXPECT_EQ(one[i].attention_mask, four[i].attention_mask) << i;
    EXPECT_EQ(one[i].offset_mapping, four[i].offset_mapping) << i;
  }
  // Each row equals encoding it alone, then padding.
  const auto alone = base().encode(texts[3], o);
  EXPECT_EQ(std::vector<std::int32_t>(one[3].input_ids.begin(),
                                      one[3].input_ids.begin() + alone.input_ids.size()),
            alone.input_ids);
}

TEST(TokenizerBatch, ErrorsAreDeterministicAcrossThreads) {
  // Large enough (100 KB) that four threads are really used.
  std::vector<std::string> texts(100, std::string(1000, 'a') + " fine");
  texts[37] = "bad \xFF";
  texts[80] = "worse \xC0";
  for (unsigned threads : {1u, 4u}) {
    try {
      base().encode_batch(texts, {}, threads);
      ADD_FAILURE() << "no error";
    } catch (const bertkit::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("batch row 37: invalid UTF-8 at byte offset 4"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace

namespace {

// A hub name resolves through the Hugging Face cache (offline here): only tokenizer files are
// needed, and a partial cache (vocab.txt alone) is enough.
TEST(TokenizerLoading, HubNameFromTheCacheOffline) {
  const fs::path cache = bertkit::testing::make_temp_dir("tok-hub-cache");
  const std::string commit(40, 'a');
  const fs::path repo = cache / "models--test-org--tiny-bert";
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / commit);
  std::ofstream(repo / "refs" / "main") << commit;
  fs::copy_file(bertkit::testing::fixture("bert-base-uncased/vocab.txt"),
                repo / "snapshots" / commit / "vocab.txt");
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  const BertTokenizer t = BertTokenizer::from_pretrained("test-org/tiny-bert");
  EXPECT_EQ(t.encode("i love kathmandu").input_ids,
            (std::vector<std::int32_t>{101, 1045, 2293, 28045, 102}));
  EXPECT_THROW(BertTokenizer::from_pretrained("test-org/not-cached"), bertkit::IoError);
  ::unsetenv("HF_HUB_OFFLINE");
  ::unsetenv("HF_HUB_CACHE");
}

}  // namespace
