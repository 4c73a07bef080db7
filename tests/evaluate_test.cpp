// evaluate(): metrics on handmade predictions, eval_loss against HF's golden loss of the tiny
// model's golden batch, and the `bertkit init` / `bertkit evaluate` commands.
#include "bertkit/evaluate.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "bertkit/config.h"
#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "bertkit/tokenizer.h"
#include "support/paths.h"
#include "support/shell.h"

namespace {

using bertkit::testing::fixture;

double metric(const bertkit::LogEntry& entry, const std::string& key) {
  for (const auto& [k, v] : entry) {
    if (k == key) return std::get<double>(v);
  }
  ADD_FAILURE() << "no metric " << key;
  return 0.0;
}

std::vector<std::string> keys(const bertkit::LogEntry& entry) {
  std::vector<std::string> out;
  for (const auto& kv : entry) out.push_back(kv.first);
  return out;
}

// HF's golden batch (tests/fixtures/golden/tiny/outputs.safetensors) as pre-tokenized rows;
// make_golden_rows.py wrote the jsonl from that file.
struct GoldenTiny {
  bertkit::BertForSequenceClassification model =
      bertkit::BertForSequenceClassification::from_pretrained(fixture("golden/tiny").string(),
                                                              {.verbose = false});
  bertkit::TokenizedDataset data = bertkit::TokenizedDataset::tokenize(
      bertkit::Dataset::read(fixture("evaluate/golden_tiny.jsonl")),
      bertkit::BertTokenizer::from_pretrained(fixture("golden/tiny")));
  bertkit::StateDict golden = bertkit::load_safetensors(fixture("golden/tiny/outputs.safetensors"));
};

TEST(ClassificationMetrics, BinaryF1OfClassOne) {
  const std::vector<std::int64_t> pred = {1, 1, 0, 0, 1, 0};
  const std::vector<std::int64_t> gold = {1, 0, 0, 1, 1, 0};
  const auto m = bertkit::classification_metrics(pred, gold, 2);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);  // tp 2, fp 1, fn 1 (sklearn f1_score: 0.6666...)
}

TEST(ClassificationMetrics, NoPositivesGivesZeroF1) {
  const std::vector<std::int64_t> pred = {0, 0, 0};
  const std::vector<std::int64_t> gold = {0, 0, 0};
  const auto m = bertkit::classification_metrics(pred, gold, 2);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.0);  // sklearn's zero_division default
}

TEST(ClassificationMetrics, MacroF1OverLabelsPresent) {
  const std::vector<std::int64_t> pred = {0, 1, 2, 2};
  const std::vector<std::int64_t> gold = {0, 1, 1, 2};
  const auto m = bertkit::classification_metrics(pred, gold, 4);  // label 3 never occurs
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_NEAR(m.f1, (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0, 1e-15);  // sklearn average="macro"
}

TEST(ClassificationMetrics, RejectsMismatchedOrEmpty) {
  const std::vector<std::int64_t> a = {0, 1};
  const std::vector<std::int64_t> b = {0};
  EXPECT_THROW(bertkit::classification_metrics(a, b, 2), bertkit::InvalidArgument);
  EXPECT_THROW(bertkit::classification_metrics({}, {}, 2), bertkit::InvalidArgument);
}

TEST(Evaluate, GoldenLossForEveryBatchSize) {
  GoldenTiny g;
  const double golden_loss = g.golden.at("loss").span<float>()[0];
  const auto golden_logits = g.golden.at("logits").span<float>();
  for (std::size_t bs : {1, 2, 3, 8}) {
    bertkit::EvaluateOptions options;
    options.per_device_eval_batch_size = bs;
    options.progress = false;
    const auto r = bertkit::evaluate_model(g.model, g.data, options);
    EXPECT_NEAR(metric(r.metrics, "eval_loss"), golden_loss, 1e-5) << "batch size " << bs;
    ASSERT_EQ(r.logits.size(), golden_logits.size());
    for (std::size_t i = 0; i < golden_logits.size(); ++i) {
      EXPECT_NEAR(r.logits[i], golden_logits[i], 1e-5) << "batch size " << bs << " logit " << i;
    }
    std::vector<std::int64_t> argmax;
    for (std::size_t row = 0; row < 3; ++row) {
      argmax.push_back(golden_logits[2 * row + 1] > golden_logits[2 * row] ? 1 : 0);
    }
    EXPECT_EQ(r.predictions, argmax);
    const auto m = bertkit::classification_metrics(argmax, std::vector<std::int64_t>{1, 0, 1}, 2);
    EXPECT_DOUBLE_EQ(metric(r.metrics, "eval_accuracy"), m.accuracy);
    EXPECT_DOUBLE_EQ(metric(r.metrics, "eval_f1"), m.f1);
  }
}

TEST(Evaluate, MaxLengthPaddingDoesNotChangeTheLoss) {
  GoldenTiny g;
  const double golden_loss = g.golden.at("loss").span<float>()[0];
  const bertkit::LogEntry m = bertkit::evaluate(g.model, g.data, 2, bertkit::PadMode::kMaxLength,
                                                /*progress=*/false);
  EXPECT_NEAR(metric(m, "eval_loss"), golden_loss, 1e-5);
}

TEST(Evaluate, KeysInTrainerOrder) {
  GoldenTiny g;
  bertkit::EvaluateOptions options;
  options.progress = false;
  options.epoch = 1.0;
  const auto r = bertkit::evaluate_model(g.model, g.data, options);
  const std::vector<std::string> expected = {
      "eval_loss",    "eval_accuracy",           "eval_f1",
      "eval_runtime", "eval_samples_per_second", "eval_steps_per_second",
      "epoch"};
  // A very fast run may have a zero runtime, where speed_metrics leaves out the rates.
  if (metric(r.metrics, "eval_runtime") > 0) {
    EXPECT_EQ(keys(r.metrics), expected);
  }
  EXPECT_DOUBLE_EQ(metric(r.metrics, "epoch"), 1.0);
}

TEST(Evaluate, RejectsUnlabeledRowsEmptySetsAndZeroBatch) {
  GoldenTiny g;
  bertkit::EvaluateOptions options;
  options.progress = false;
  bertkit::TokenizedDataset unlabeled = g.data;
  unlabeled.labels.ids[1] = -1;  // IMDB's unsupervised split
  EXPECT_THROW(bertkit::evaluate_model(g.model, unlabeled, options), bertkit::InvalidArgument);
  bertkit::TokenizedDataset empty;
  EXPECT_THROW(bertkit::evaluate_model(g.model, empty, options), bertkit::InvalidArgument);
  options.per_device_eval_batch_size = 0;
  EXPECT_THROW(bertkit::evaluate_model(g.model, g.data, options), bertkit::InvalidArgument);
}

TEST(Evaluate, WithoutLabelsOnlySpeedMetrics) {
  GoldenTiny g;
  g.data.labels = {};
  bertkit::EvaluateOptions options;
  options.progress = false;
  const auto r = bertkit::evaluate_model(g.model, g.data, options);
  ASSERT_FALSE(r.metrics.empty());
  EXPECT_EQ(r.metrics.front().first, "eval_runtime");
  EXPECT_EQ(r.logits.size(), 6u);
}

TEST(Evaluate, RegressionGetsTheRowWeightedMse) {
  GoldenTiny g;
  auto config = g.model.config();
  config.set_num_labels(1);
  auto model = bertkit::BertForSequenceClassification::init(config, 5);
  g.data.labels = {};
  g.data.labels.type = bertkit::LabelType::kRegression;
  g.data.labels.values = {0.5f, -1.0f, 2.0f};
  bertkit::EvaluateOptions options;
  options.progress = false;
  options.per_device_eval_batch_size = 2;  // batches of 2 and 1 rows
  const auto r = bertkit::evaluate_model(model, g.data, options);
  ASSERT_EQ(r.logits.size(), 3u);
  const auto sq = [&](int i) {
    const double d = r.logits[i] - g.data.labels.values[i];
    return d * d;
  };
  const double expected = ((sq(0) + sq(1)) / 2 * 2 + sq(2)) / 3;
  EXPECT_NEAR(metric(r.metrics, "eval_loss"), expected, 1e-6);
  EXPECT_EQ(keys(r.metrics).front(), "eval_loss");
  EXPECT_EQ(keys(r.metrics)[1], "eval_runtime");  // no accuracy/f1 for regression
}

TEST(ConfigPresets, Shapes) {
  const auto mini = bertkit::BertConfig::preset("bert-mini");
  EXPECT_EQ(mini.num_hidden_layers, 4);
  EXPECT_EQ(mini.hidden_size, 256);
  EXPECT_EQ(mini.num_attention_heads, 4);
  EXPECT_EQ(mini.intermediate_size, 1024);
  const auto tiny = bertkit::BertConfig::preset("bert_tiny");
  EXPECT_EQ(tiny.num_hidden_layers, 2);
  EXPECT_EQ(tiny.hidden_size, 128);
  EXPECT_EQ(tiny.num_attention_heads, 2);
  EXPECT_EQ(tiny.intermediate_size, 512);
  for (const auto& c : {mini, tiny, bertkit::BertConfig::preset("bert-base")}) {
    EXPECT_EQ(c.vocab_size, 30522);
    EXPECT_EQ(c.max_position_embeddings, 512);
    EXPECT_NO_THROW(c.validate());
  }
  EXPECT_THROW(bertkit::BertConfig::preset("bert-huge"), bertkit::InvalidArgument);
}

// --- the CLI ----------------------------------------------------------------------------------

using Result = bertkit::testing::CommandResult;

// The output is stdout, and stderr too when asked.
Result run(const std::string& args, bool with_stderr = true, const std::string& cwd = "") {
  std::string cmd;
  if (!cwd.empty()) cmd = "cd '" + cwd + "' && ";
  cmd += "'" + bertkit::testing::cli_path().string() + "' " + args;
  cmd += with_stderr ? " 2>&1" : " 2>/dev/null";
  return bertkit::testing::run_command(cmd);
}

std::string tokenizer_arg() {
  return " --tokenizer '" + fixture("bert-base-uncased").string() + "'";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(InitCli, WritesAFolderThatLoadsWithTheSameLogits) {
  const auto dir = bertkit::testing::make_temp_dir("init-cli") / "model";
  const Result r =
      run("init --config bert-tiny --seed 7 --output '" + dir.string() + "'" + tokenizer_arg());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
                        "special_tokens_map.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  }
  const auto config = bertkit::BertConfig::from_pretrained(dir);
  EXPECT_EQ(config.architectures, std::vector<std::string>{"BertForSequenceClassification"});
  EXPECT_EQ(config.num_labels(), 2);
  EXPECT_EQ(config.hidden_size, 128);

  auto loaded =
      bertkit::BertForSequenceClassification::from_pretrained(dir.string(), {.verbose = false});
  auto fresh = bertkit::BertForSequenceClassification::init(bertkit::BertConfig::bert_tiny(), 7);
  const auto input =
      bertkit::ModelInput::from_ids({{101, 2023, 3185, 2001, 2307, 102}, {101, 6659, 102}});
  // Keep the outputs alive: span() views their bytes.
  const bertkit::ModelOutput out_loaded = loaded.forward(input);
  const bertkit::ModelOutput out_fresh = fresh.forward(input);
  const auto a = out_loaded.logits.span<float>();
  const auto b = out_fresh.logits.span<float>();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << i;
}

TEST(InitCli, LabelsAndRefusals) {
  const auto root = bertkit::testing::make_temp_dir("init-cli-refuse");
  const auto dir = root / "model";
  ASSERT_EQ(run("init --config bert-tiny --num-labels 3 --output '" + dir.string() + "'" +
                tokenizer_arg())
                .status,
            0);
  const auto config = bertkit::BertConfig::from_pretrained(dir);
  EXPECT_EQ(config.num_labels(), 3);
  EXPECT_EQ(config.id2label.at(2), "LABEL_2");

  Result r = run("init --config bert-tiny --output '" + dir.string() + "'" + tokenizer_arg());
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "--overwrite")) << r.output;
  r = run("init --config bert-tiny --overwrite --output '" + dir.string() + "'" + tokenizer_arg());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(bertkit::BertConfig::from_pretrained(dir).num_labels(), 2);

  r = run("init --config bert-huge --output '" + (root / "x").string() + "'" + tokenizer_arg());
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "bert-huge")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(root / "x"));
  r = run("init --config bert-tiny --num-labels 0 --output '" + (root / "y").string() + "'" +
          tokenizer_arg());
  EXPECT_NE(r.status, 0);
  // Outside the repo, a preset has no default tokenizer.
  r = run("init --config bert-tiny --output '" + (root / "z").string() + "'", true, root.string());
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "--tokenizer")) << r.output;
}

TEST(InitCli, ConfigFileTakesTheTokenizerBesideIt) {
  const auto dir = bertkit::testing::make_temp_dir("init-cli-file") / "model";
  const Result r = run("init --config '" + fixture("golden/tiny/config.json").string() +
                       "' --seed 3 --output '" + dir.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto tok = bertkit::BertTokenizer::from_pretrained(dir);
  EXPECT_EQ(tok.vocab_size(), 1024u);
  EXPECT_EQ(bertkit::BertConfig::from_pretrained(dir).hidden_size, 32);
}

TEST(EvaluateCli, InitThenEvaluateOnTwentyRows) {
  const auto root = bertkit::testing::make_temp_dir("eval-cli");
  const auto dir = root / "model";
  ASSERT_EQ(
      run("init --config bert-tiny --seed 11 --output '" + dir.string() + "'" + tokenizer_arg())
          .status,
      0);
  const auto file = fixture("evaluate/reviews20.jsonl");
  const Result r =
      run("evaluate --model '" + dir.string() + "' --eval-file '" + file.string() +
              "' --per-device-eval-batch-size 6 --output-json '" + (root / "m.json").string() + "'",
          /*with_stderr=*/false);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("{'eval_loss': ", 0), 0u) << r.output;
  EXPECT_TRUE(contains(r.output, "'eval_accuracy': ")) << r.output;
  EXPECT_TRUE(contains(r.output, "'eval_steps_per_second': ")) << r.output;

  // The CLI's numbers are the library's on the same model and rows.
  auto model =
      bertkit::BertForSequenceClassification::from_pretrained(dir.string(), {.verbose = false});
  const auto data = bertkit::TokenizedDataset::tokenize(
      bertkit::Dataset::read(file), bertkit::BertTokenizer::from_pretrained(dir));
  ASSERT_EQ(data.size(), 20u);
  const auto m = bertkit::evaluate(model, data, 6, bertkit::PadMode::kDynamic, false);
  const auto j = nlohmann::json::parse(std::ifstream(root / "m.json"));
  EXPECT_EQ(j.at("eval_loss").get<double>(), metric(m, "eval_loss"));
  EXPECT_EQ(j.at("eval_accuracy").get<double>(), metric(m, "eval_accuracy"));
  EXPECT_EQ(j.at("eval_f1").get<double>(), metric(m, "eval_f1"));

  const Result limited = run("evaluate --no-progress --limit 5 --model '" + dir.string() +
                             "' --eval-file '" + file.string() + "'");
  ASSERT_EQ(limited.status, 0) << limited.output;
  EXPECT_TRUE(contains(limited.output, "'eval_steps_per_second': ")) << limited.output;

  const Result bad = run("evaluate --model '" + dir.string() + "'");
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.output, "--eval-file")) << bad.output;
}

}  // namespace
