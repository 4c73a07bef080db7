// TrainerOptions::cache_features / `bertkit train --cache-features`: the frozen encoder runs once
// and the classifier trains on its cached pooler outputs. Without encoder dropout that is the
// plain --freeze-encoder run up to float rounding; with it, a deterministic run that resumes
// exactly; evaluation on cached features equals the full forward.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "bertkit/trainer.h"
#include "support/paths.h"
#include "support/shell.h"
#include "support/trainer_inputs.h"

namespace bertkit {
namespace {

namespace fs = std::filesystem;
using ::bertkit::testing::fixture;
using ::bertkit::testing::make_temp_dir;

enum class Dropout { kNone, kClassifierOnly, kAll };

// The tiny golden model, frozen. kClassifierOnly: no hidden or attention dropout, so only the
// head draws masks -- and cached and plain runs must draw the same ones.
BertForSequenceClassification frozen_tiny(Dropout dropout) {
  const fs::path dir = fixture("golden/tiny");
  BertConfig config = BertConfig::from_pretrained(dir);
  if (dropout != Dropout::kAll) {
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    if (dropout == Dropout::kNone)
      config.classifier_dropout.reset();
    else
      config.classifier_dropout = 0.3;
  }
  auto model = BertForSequenceClassification::from_state_dict(
      config, load_safetensors(dir / "model.safetensors"), {.verbose = false});
  model.set_freeze_bert(true);
  return model;
}

// Rows of different lengths, so the train batches (4 rows) and the caching batches (eval batch
// size 5, sorted by length) pad differently.
TokenizedDataset rows(std::size_t n, std::uint32_t seed) {
  return testing::random_token_rows(n, seed);
}

TrainingArguments args_for(const fs::path& out) {
  TrainingArguments args = testing::quiet_args(out);
  args.num_train_epochs = 3;
  args.per_device_train_batch_size = 4;
  args.per_device_eval_batch_size = 5;
  args.learning_rate = 1e-2;
  args.warmup_steps = 2;
  args.weight_decay = 0.01;
  args.logging_steps = 1;
  args.save_strategy = IntervalStrategy::kNo;
  return args;
}

TrainerOptions options_for(bool cache) {
  TrainerOptions options = testing::quiet_options();
  options.save_final_model = false;
  options.cache_features = cache;
  return options;
}

struct RunResult {
  std::vector<float> losses;  // per optimizer step
  std::vector<float> params;
};

RunResult train(BertForSequenceClassification& model, const TokenizedDataset& data, bool cache,
                const fs::path& out) {
  RunResult r;
  TrainerOptions options = options_for(cache);
  options.on_step = [&r](const TrainerStep& s) { r.losses.push_back(s.loss); };
  Trainer trainer(model, args_for(out), data, nullptr, options);
  trainer.train();
  r.params.assign(model.parameters().begin(), model.parameters().end());
  return r;
}

bool is_classifier(const ParameterSlice& s) { return s.name.rfind("classifier.", 0) == 0; }

class CachedVsPlain : public ::testing::TestWithParam<Dropout> {};

TEST_P(CachedVsPlain, SameLossesAndClassifierWithoutEncoderDropout) {
  const TokenizedDataset data = rows(14, 7);
  auto plain_model = frozen_tiny(GetParam());
  auto cached_model = frozen_tiny(GetParam());
  const std::vector<float> initial(plain_model.parameters().begin(),
                                   plain_model.parameters().end());
  const RunResult plain = train(plain_model, data, false, make_temp_dir("cache_plain"));
  const RunResult cached = train(cached_model, data, true, make_temp_dir("cache_cached"));

  ASSERT_EQ(plain.losses.size(), 12u);  // 3 epochs of 4 batches
  ASSERT_EQ(cached.losses.size(), plain.losses.size());
  double worst_loss = 0, worst_param = 0;
  // Relative to the classifier's largest entry: AdamW divides by sqrt(v), so an entry whose
  // gradients are near zero (a bias) turns the pooled outputs' rounding noise (their batches pad
  // differently) into a larger relative change of that one small entry.
  double scale = 0;
  for (const auto& s : plain_model.parameter_slices()) {
    if (!is_classifier(s)) continue;
    for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(plain.params[i])));
    }
  }
  for (std::size_t i = 0; i < plain.losses.size(); ++i) {
    ASSERT_TRUE(std::isfinite(cached.losses[i]));
    const double rel = std::fabs(static_cast<double>(cached.losses[i]) - plain.losses[i]) /
                       std::fabs(static_cast<double>(plain.losses[i]));
    worst_loss = std::max(worst_loss, rel);
    EXPECT_LT(rel, 1e-6) << "loss of step " << i + 1;
  }
  for (const auto& s : plain_model.parameter_slices()) {
    if (!is_classifier(s)) {
      for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
        ASSERT_EQ(plain.params[i], initial[i]) << s.name << " moved in the plain run";
        ASSERT_EQ(cached.params[i], initial[i]) << s.name << " moved in the cached run";
      }
      continue;
    }
    bool changed = false;
    for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      changed = changed || cached.params[i] != initial[i];
      const double rel = std::fabs(static_cast<double>(cached.params[i]) - plain.params[i]) / scale;
      worst_param = std::max(worst_param, rel);
      EXPECT_LT(rel, 1e-6) << s.name << "[" << i - s.offset << "]";
    }
    EXPECT_TRUE(changed) << s.name;
  }
  std::printf("cached vs plain: max rel loss diff %.3g, max rel classifier diff %.3g\n", worst_loss,
              worst_param);
}

// With the caching batches equal to the training batches (rows of one length, no shuffle, one
// batch size) the pooled outputs are the same bits, and so is every step.
TEST(CacheFeatures, SameBatchesGiveBitIdenticalRuns) {
  TokenizedDataset same_length = rows(12, 13);
  same_length.rows = {};
  std::mt19937 gen(14);
  for (std::size_t i = 0; i < 12; ++i) {
    std::vector<std::int32_t> ids(9);
    for (auto& id : ids) id = static_cast<std::int32_t>(5 + gen() % 1000);
    same_length.rows.push_back(ids);
  }
  auto run = [&](bool cache) {
    auto model = frozen_tiny(Dropout::kClassifierOnly);
    RunResult r;
    TrainerOptions options = options_for(cache);
    options.shuffle = false;
    options.on_step = [&r](const TrainerStep& s) { r.losses.push_back(s.loss); };
    TrainingArguments args = args_for(make_temp_dir("cache_same"));
    args.per_device_eval_batch_size = args.per_device_train_batch_size;
    Trainer trainer(model, args, same_length, nullptr, options);
    trainer.train();
    r.params.assign(model.parameters().begin(), model.parameters().end());
    return r;
  };
  const RunResult plain = run(false), cached = run(true);
  EXPECT_EQ(cached.losses, plain.losses);
  EXPECT_EQ(cached.params, plain.params);
}

INSTANTIATE_TEST_SUITE_P(NoDropoutAndClassifierDropout, CachedVsPlain,
                         ::testing::Values(Dropout::kNone, Dropout::kClassifierOnly));

TEST(CacheFeatures, WithDropoutTrainsAndIsDeterministic) {
  const TokenizedDataset data = rows(14, 8);
  auto a = frozen_tiny(Dropout::kAll);
  auto b = frozen_tiny(Dropout::kAll);
  const std::vector<float> initial(a.parameters().begin(), a.parameters().end());
  const RunResult ra = train(a, data, true, make_temp_dir("cache_det_a"));
  const RunResult rb = train(b, data, true, make_temp_dir("cache_det_b"));
  ASSERT_EQ(ra.losses.size(), 12u);
  for (float loss : ra.losses) EXPECT_TRUE(std::isfinite(loss));
  EXPECT_EQ(ra.losses, rb.losses);
  EXPECT_EQ(ra.params, rb.params);
  for (const auto& s : a.parameter_slices()) {
    bool changed = false;
    for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      changed = changed || ra.params[i] != initial[i];
    }
    EXPECT_EQ(changed, is_classifier(s)) << s.name;
  }
}

TEST(CacheFeatures, ResumeFromCheckpointMatchesUninterruptedRun) {
  const TokenizedDataset data = rows(22, 9);  // 6 batches an epoch, the last short
  const auto root = make_temp_dir("cache_resume");
  auto args = [&root](const std::string& name) {
    TrainingArguments a = args_for(root / name);
    a.num_train_epochs = 0;
    a.max_steps = 10;
    a.save_strategy = IntervalStrategy::kSteps;
    a.save_steps = 2;
    return a;
  };
  auto model_a = frozen_tiny(Dropout::kAll);
  Trainer trainer_a(model_a, args("a"), data, nullptr, options_for(true));
  trainer_a.train();

  // Run b stops (by an exception) right after writing checkpoint-4 and resumes in a new Trainer.
  {
    auto model_b = frozen_tiny(Dropout::kAll);
    TrainerOptions options = options_for(true);
    options.on_save = [](const fs::path& written) {
      if (written.filename() == "checkpoint-4") throw std::runtime_error("interrupted");
    };
    Trainer trainer_b(model_b, args("b"), data, nullptr, options);
    EXPECT_THROW(trainer_b.train(), std::runtime_error);
  }
  ASSERT_TRUE(fs::is_directory(root / "b" / "checkpoint-4"));
  auto model_b = frozen_tiny(Dropout::kAll);
  Trainer trainer_b(model_b, args("b"), data, nullptr, options_for(true));
  EXPECT_EQ(trainer_b.train("latest").global_step, 10);

  const auto pa = model_a.parameters(), pb = model_b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) differing += pa[i] != pb[i];
  EXPECT_EQ(differing, 0u) << "parameters differ after resuming";
}

double eval_loss(const LogEntry& metrics) {
  EXPECT_EQ(metrics.at(0).first, "eval_loss");
  return std::get<double>(metrics.at(0).second);
}

TEST(CacheFeatures, EvaluateOnCachedFeaturesEqualsTheFullForward) {
  const TokenizedDataset train_data = rows(14, 10), eval_data = rows(11, 11);
  auto cached_model = frozen_tiny(Dropout::kAll);
  auto plain_model = frozen_tiny(Dropout::kAll);
  const auto out = make_temp_dir("cache_eval");
  Trainer cached(cached_model, args_for(out), train_data, &eval_data, options_for(true));
  Trainer plain(plain_model, args_for(out), train_data, &eval_data, options_for(false));
  const LogEntry before_cached = cached.evaluate(), before_plain = plain.evaluate();
  EXPECT_NEAR(eval_loss(before_cached), eval_loss(before_plain), 1e-6);
  EXPECT_EQ(before_cached.at(1), before_plain.at(1));  // eval_accuracy

  // The eval cache outlives training: the classifier moved, the cached features did not.
  cached.train();
  auto reference = frozen_tiny(Dropout::kAll);
  std::copy(cached_model.parameters().begin(), cached_model.parameters().end(),
            reference.parameters().begin());
  Trainer check(reference, args_for(out), train_data, &eval_data, options_for(false));
  const double after_cached = eval_loss(cached.evaluate());
  const double after_plain = eval_loss(check.evaluate());
  EXPECT_NEAR(after_cached, after_plain, 1e-6);
  EXPECT_NE(after_cached, eval_loss(before_cached));
}

TEST(CacheFeatures, NeedsAFrozenEncoder) {
  const TokenizedDataset data = rows(8, 12);
  auto model = frozen_tiny(Dropout::kNone);
  model.set_freeze_bert(false);
  Trainer trainer(model, args_for(make_temp_dir("cache_unfrozen")), data, &data, options_for(true));
  EXPECT_THROW(trainer.train(), InvalidArgument);
  EXPECT_THROW(trainer.evaluate(), InvalidArgument);
}

// Exit status and stderr of one CLI run.
std::pair<int, std::string> run_cli(const std::string& arguments) {
  // stderr into the pipe, stdout discarded.
  const testing::CommandResult r =
      testing::run_command(testing::cli_path().string() + " " + arguments + " 2>&1 >/dev/null");
  return {r.status, r.output};
}

TEST(CacheFeaturesCli, NeedsFreezeEncoderAndTrainsWithIt) {
  const auto out = make_temp_dir("cache_cli");
  const std::string common =
      "train --model " + fixture("golden/tiny").string() + " --train-file " +
      fixture("trainer/tiny_texts.jsonl").string() + " --eval-file " +
      fixture("trainer/tiny_texts.jsonl").string() +
      " --max-length 32 --per-device-train-batch-size 4 --max-steps 4"
      " --eval-strategy epoch --report-to none --disable-tqdm --output-dir " +
      (out / "run").string();
  const auto [status, message] = run_cli(common + " --cache-features");
  EXPECT_NE(status, 0);
  EXPECT_NE(message.find("--cache-features needs --freeze-encoder"), std::string::npos) << message;
  EXPECT_EQ(run_cli(common + " --cache-features --freeze-encoder").first, 0);
  EXPECT_TRUE(fs::is_regular_file(out / "run" / "model.safetensors"));
}

}  // namespace
}  // namespace bertkit
