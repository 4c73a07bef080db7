// The Trainer through its public API: the golden HF trajectory (losses, grad norms, lrs, every
// parameter), the checkpoint layout and trainer_state.json, and resuming after a SIGKILL.
#include "bertkit/trainer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "bertkit/tokenizer.h"
#include "support/paths.h"
#include "support/shell.h"
#include "support/trainer_inputs.h"
#include "support/trajectory.h"

namespace bertkit {
namespace {

namespace fs = std::filesystem;
using ::bertkit::testing::fixture;
using ::bertkit::testing::make_temp_dir;

// The tiny golden model, optionally without dropout (the golden trajectory ran in eval mode).
BertForSequenceClassification golden_model(const std::string& name, bool dropout) {
  const fs::path dir = fixture("golden/" + name);
  BertConfig config = BertConfig::from_pretrained(dir);
  if (!dropout) {
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    config.classifier_dropout.reset();
  }
  return BertForSequenceClassification::from_state_dict(
      config, load_safetensors(dir / "model.safetensors"), {.verbose = false});
}

BertForSequenceClassification tiny_model(bool dropout) { return golden_model("tiny", dropout); }

using ::bertkit::testing::quiet_args;
using ::bertkit::testing::quiet_options;

struct GoldenCase {
  const char* model;
  const char* stem;
};

class TrainerGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(TrainerGolden, TrajectoryThroughTrainerMatchesHF) {
  const auto t =
      testing::load_trajectory(fixture(std::string("golden/") + GetParam().model), GetParam().stem);
  ASSERT_EQ(t.steps.size(), 5u);
  // The five golden batches, in order, as a pre-tokenized dataset of full-width rows.
  TokenizedDataset data;
  data.labels.type = LabelType::kClassification;
  std::int64_t rows_per_batch = 0;
  for (const auto& step : t.steps) {
    const auto ids = step.batch.input_ids.span<std::int64_t>();
    const auto mask = step.batch.attention_mask.span<std::int64_t>();
    const auto types = step.batch.token_type_ids.span<std::int64_t>();
    const auto labels = step.batch.labels.span<std::int64_t>();
    const std::size_t rows = labels.size(), width = ids.size() / rows;
    rows_per_batch = static_cast<std::int64_t>(rows);
    data.max_length = width;
    for (std::size_t r = 0; r < rows; ++r) {
      std::vector<std::int32_t> i32(width), m32(width), t32(width);
      for (std::size_t c = 0; c < width; ++c) {
        i32[c] = static_cast<std::int32_t>(ids[r * width + c]);
        m32[c] = static_cast<std::int32_t>(mask[r * width + c]);
        t32[c] = static_cast<std::int32_t>(types[r * width + c]);
      }
      data.rows.push_back(i32, t32, m32);
      data.labels.ids.push_back(labels[r]);
    }
  }
  auto model = golden_model(GetParam().model, /*dropout=*/false);
  const auto out = make_temp_dir("trainer_golden");
  TrainingArguments args = quiet_args(out);
  args.max_steps = 5;
  args.per_device_train_batch_size = rows_per_batch;
  args.learning_rate = t.base_learning_rate;
  args.weight_decay = t.weight_decay;
  args.warmup_steps = t.num_warmup_steps;
  args.max_grad_norm = t.max_grad_norm;
  args.adam_beta1 = t.adam_beta1;
  args.adam_beta2 = t.adam_beta2;
  args.adam_epsilon = t.adam_epsilon;
  args.logging_steps = 1;
  args.save_strategy = IntervalStrategy::kNo;
  TrainerOptions options = quiet_options();
  options.shuffle = false;
  options.padding.mode = PadMode::kMaxLength;
  options.save_final_model = false;
  std::vector<testing::ObservedStep> seen;
  std::vector<float> after_step2;
  options.on_step = [&](const TrainerStep& s) {
    seen.push_back({s.loss, s.grad_norm.value_or(0.0f), s.learning_rate, s.learning_rate_after});
    if (s.global_step == 2) {
      after_step2.assign(model.parameters().begin(), model.parameters().end());
    }
  };
  Trainer trainer(model, args, data, nullptr, options);
  const TrainOutput result = trainer.train();
  EXPECT_EQ(result.global_step, 5);
  const testing::TrajectoryRun run{seen, *trainer.optimizer(), after_step2};
  testing::expect_trajectory_matches(t, run, model.parameters(), model.parameter_slices());

  // The logged dicts: HF's rounding of the loss, the pre-clip norm and the post-step lr.
  const auto& history = trainer.state().log_history;
  ASSERT_EQ(history.size(), 6u);  // five steps + the train metrics
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& entry = history[i];
    ASSERT_EQ(entry[0].first, "loss");
    EXPECT_NEAR(std::get<double>(entry[0].second), t.steps[i].loss, 5.1e-5);
    EXPECT_EQ(entry[1].first, "grad_norm");
    EXPECT_NEAR(std::get<double>(entry[1].second), t.steps[i].grad_norm,
                1e-4 * t.steps[i].grad_norm);
    EXPECT_EQ(entry[2].first, "learning_rate");
    EXPECT_NEAR(std::get<double>(entry[2].second), t.steps[i].learning_rate_logged_by_trainer,
                1e-12);
    EXPECT_EQ(entry[3].first, "epoch");
    EXPECT_DOUBLE_EQ(std::get<double>(entry[3].second), (i + 1) / 5.0);
  }
  double loss_err = 0, norm_rel = 0, param_err = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    loss_err = std::max(loss_err, std::fabs(seen[i].loss - t.steps[i].loss));
    norm_rel = std::max(norm_rel,
                        std::fabs(seen[i].grad_norm - t.steps[i].grad_norm) / t.steps[i].grad_norm);
  }
  for (const auto& s : model.parameter_slices()) {
    const auto want = t.tensors.at("param." + s.name).span<float>();
    for (std::int64_t i = 0; i < s.numel; ++i) {
      param_err = std::max(
          param_err, std::fabs(static_cast<double>(model.parameters()[s.offset + i]) - want[i]));
    }
  }
  std::printf(
      "golden %s/%s via Trainer: max |loss err| %.3g, max grad_norm rel err %.3g, "
      "max |param err| after step 5 %.3g\n",
      GetParam().model, GetParam().stem, loss_err, norm_rel, param_err);
  double mean = 0;
  for (const auto& s : seen) mean += s.loss;
  EXPECT_NEAR(result.training_loss, mean / 5, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(TinyAndSmall, TrainerGolden,
                         ::testing::Values(GoldenCase{"tiny", "trajectory"},
                                           GoldenCase{"tiny", "trajectory_lr1e-3"},
                                           GoldenCase{"small", "trajectory"},
                                           GoldenCase{"small", "trajectory_lr1e-3"}));

TEST(Trainer, CheckpointLayoutAndTrainerState) {
  const TokenizedDataset data = testing::random_token_rows(12, 1);
  auto model = tiny_model(/*dropout=*/true);
  const auto out = make_temp_dir("trainer_ckpt");
  TrainingArguments args = quiet_args(out);
  args.report_to = {"all"};
  args.logging_dir = (out / "logs").string();
  args.max_steps = 5;
  args.per_device_train_batch_size = 4;
  args.logging_steps = 2;
  args.save_steps = 2;
  args.save_total_limit = 2;
  Trainer trainer(model, args, data, nullptr, quiet_options());
  trainer.train();

  EXPECT_FALSE(fs::exists(out / "checkpoint-2"));  // rotated away
  for (const char* name : {"checkpoint-4", "checkpoint-5"}) {
    const fs::path dir = out / name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (const char* file :
         {"config.json", "model.safetensors", "optimizer.safetensors", "scheduler.json",
          "trainer_state.json", "rng_state.json", "training_args.json"}) {
      EXPECT_TRUE(fs::is_regular_file(dir / file)) << dir / file;
    }
  }
  std::ifstream in(out / "checkpoint-4" / "trainer_state.json");
  const auto state = nlohmann::json::parse(in);
  EXPECT_EQ(state.at("global_step"), 4);
  EXPECT_EQ(state.at("max_steps"), 5);
  EXPECT_EQ(state.at("save_steps"), 2);
  const auto& history = state.at("log_history");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].at("step"), 2);
  EXPECT_EQ(history[1].at("step"), 4);
  for (const auto& entry : history) {
    for (const char* key : {"loss", "grad_norm", "learning_rate", "epoch"}) {
      EXPECT_TRUE(entry.contains(key)) << key << " in " << entry.dump();
    }
  }
  // The final model, as save_pretrained writes it, and the logs.
  EXPECT_TRUE(fs::is_regular_file(out / "model.safetensors"));
  std::ifstream config_in(out / "config.json");
  const auto config = nlohmann::json::parse(config_in);
  EXPECT_EQ(config.at("architectures").at(0), "BertForSequenceClassification");
  EXPECT_TRUE(fs::is_regular_file(out / "logs" / "log.jsonl"));
  bool events = false;
  for (const auto& e : fs::directory_iterator(out / "logs")) {
    events = events || e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  }
  EXPECT_TRUE(events);
}

// Run B's first half: trains in a child process that SIGKILLs itself right after checkpoint-4.
constexpr const char* kChildEnv = "BERTKIT_TRAINER_TEST_KILL_AFTER_CHECKPOINT4";

TrainingArguments resume_args(const fs::path& out) {
  TrainingArguments args = quiet_args(out);
  args.max_steps = 10;
  args.per_device_train_batch_size = 4;
  args.learning_rate = 1e-3;
  args.warmup_steps = 2;
  args.weight_decay = 0.01;
  args.logging_steps = 1;
  args.save_steps = 2;
  args.save_total_limit = 2;
  return args;
}

TEST(TrainerResumeChild, TrainsUntilKilled) {
  const char* dir = std::getenv(kChildEnv);
  if (dir == nullptr)
    GTEST_SKIP()
        << "not a test by itself: the process Trainer.ResumeAfterSigkillIsBitIdentical kills";
  const TokenizedDataset data = testing::random_token_rows(22, 2);
  auto model = tiny_model(/*dropout=*/true);
  TrainerOptions options = quiet_options();
  options.on_save = [](const fs::path& written) {
    if (written.filename() == "checkpoint-4") std::raise(SIGKILL);
  };
  Trainer trainer(model, resume_args(dir), data, nullptr, options);
  trainer.train();
  FAIL() << "the child should have been killed after checkpoint-4";
}

TEST(Trainer, ResumeAfterSigkillIsBitIdentical) {
  const TokenizedDataset data =
      testing::random_token_rows(22, 2);  // 6 batches an epoch, the last short
  const auto root = make_temp_dir("trainer_resume");

  auto model_a = tiny_model(/*dropout=*/true);
  Trainer trainer_a(model_a, resume_args(root / "a"), data, nullptr, quiet_options());
  trainer_a.train();

  const fs::path b = root / "b";
  const pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    // exec a fresh copy of this binary: OpenMP's thread pool does not survive fork().
    setenv(kChildEnv, b.c_str(), 1);
    execl("/proc/self/exe", "trainer_test", "--gtest_filter=TrainerResumeChild.*",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_TRUE(fs::is_directory(b / "checkpoint-4"));
  EXPECT_FALSE(fs::exists(b / "checkpoint-6"));
  EXPECT_FALSE(fs::exists(b / "model.safetensors"));

  auto model_b = tiny_model(/*dropout=*/true);
  Trainer trainer_b(model_b, resume_args(b), data, nullptr, quiet_options());
  const TrainOutput resumed = trainer_b.train("latest");
  EXPECT_EQ(resumed.global_step, 10);

  const auto pa = model_a.parameters(), pb = model_b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) differing += pa[i] != pb[i];
  EXPECT_EQ(differing, 0u) << "parameters differ after resuming";
  // The same log lines, the first four restored from the checkpoint.
  const auto& ha = trainer_a.state().log_history;
  const auto& hb = trainer_b.state().log_history;
  ASSERT_EQ(ha.size(), hb.size());
  for (std::size_t i = 0; i + 1 < ha.size(); ++i) {
    // trainer_state.json is written with sort_keys, so restored entries come back sorted.
    LogEntry a = ha[i], b = hb[i];
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(python_repr(a), python_repr(b)) << "log entry " << i;
  }
}

// A short real run: a small random BERT on a slice of IMDB learns something (eval loss falls,
// from 0.6920 to 0.6865: a small but deterministic drop, the run is bit-reproducible).
TEST(Trainer, ImdbSliceEvalLossFalls) {
  BERTKIT_REQUIRE_SHARED("data/imdb/train.jsonl.gz");
  BERTKIT_REQUIRE_SHARED("data/imdb/test.jsonl.gz");
  const BertTokenizer tokenizer = BertTokenizer::from_pretrained(fixture("bert-mini-tokenizer"));
  ImdbOptions imdb;
  imdb.data_dir = testing::shared("data/imdb");
  imdb.progress = false;
  // IMDB lists the negative reviews first: take a seeded shuffle, as dataset.shuffle() would.
  auto slice = [&](std::string_view split, std::size_t n, std::uint64_t seed) {
    const Dataset all = Dataset::imdb(split, imdb);
    auto rows = torch_randperm(all.size(), seed);
    rows.resize(n);
    TokenizeOptions tokenize;
    tokenize.max_length = 64;
    return TokenizedDataset::tokenize(all.select(rows), tokenizer, tokenize);
  };
  const TokenizedDataset train = slice("train", 192, 1), eval = slice("test", 96, 2);
  BertConfig config = BertConfig::bert_tiny();
  config.vocab_size = static_cast<std::int64_t>(tokenizer.vocab_size());
  auto model = BertForSequenceClassification::init(config, 7);
  const auto out = make_temp_dir("trainer_imdb");
  TrainingArguments args = quiet_args(out);
  args.num_train_epochs = 4;
  args.per_device_train_batch_size = 16;
  args.per_device_eval_batch_size = 32;
  args.learning_rate = 1e-3;
  args.warmup_ratio = 0.1;
  args.logging_steps = 12;
  args.save_strategy = IntervalStrategy::kNo;
  args.eval_strategy = IntervalStrategy::kEpoch;
  Trainer trainer(model, args, train, &eval, quiet_options());
  const auto before = trainer.evaluate();
  const TrainOutput result = trainer.train();
  const auto after = trainer.evaluate();
  EXPECT_EQ(result.global_step, 48);
  ASSERT_EQ(before[0].first, "eval_loss");
  ASSERT_EQ(after[0].first, "eval_loss");
  const double loss_before = std::get<double>(before[0].second);
  const double loss_after = std::get<double>(after[0].second);
  std::printf("IMDB slice: eval_loss %.4f -> %.4f, train_loss %.4f\n", loss_before, loss_after,
              result.training_loss);
  EXPECT_LT(loss_after, loss_before);
  // eval_strategy=epoch logged one evaluation per epoch, and the final one; train() starts a
  // fresh TrainerState, so the evaluation before it is not in the history (as in HF).
  int evaluations = 0;
  for (const auto& entry : trainer.state().log_history)
    evaluations += entry[0].first == "eval_loss";
  EXPECT_EQ(evaluations, 4 + 1);
}

TEST(Trainer, FreezeEncoderTrainsTheClassifierOnly) {
  const TokenizedDataset data = testing::random_token_rows(8, 3);
  auto model = tiny_model(/*dropout=*/true);
  const std::vector<float> initial(model.parameters().begin(), model.parameters().end());
  model.set_freeze_bert(true);
  TrainingArguments args = quiet_args(make_temp_dir("trainer_freeze"));
  args.max_steps = 3;
  args.learning_rate = 1e-2;
  args.per_device_train_batch_size = 4;
  args.save_strategy = IntervalStrategy::kNo;
  TrainerOptions options = quiet_options();
  options.save_final_model = false;
  Trainer trainer(model, args, data, nullptr, options);
  trainer.train();
  for (const auto& s : model.parameter_slices()) {
    bool changed = false;
    for (std::int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      changed = changed || model.parameters()[i] != initial[i];
    }
    EXPECT_EQ(changed, s.name.rfind("classifier.", 0) == 0) << s.name;
  }
  std::vector<std::string> names;
  for (const auto& group : trainer.optimizer()->groups()) {
    for (const auto& p : group.params) names.push_back(p.name);
  }
  EXPECT_EQ(names.size(), 2u);
}

TEST(Trainer, DivergingLossStopsWithNonFiniteError) {
  const TokenizedDataset data = testing::random_token_rows(8, 4);
  auto model = tiny_model(/*dropout=*/false);
  TrainingArguments args = quiet_args(make_temp_dir("trainer_nan"));
  args.max_steps = 6;
  args.learning_rate = 1e30;
  args.per_device_train_batch_size = 4;
  args.save_strategy = IntervalStrategy::kNo;
  Trainer trainer(model, args, data, nullptr, quiet_options());
  EXPECT_THROW(trainer.train(), NonFiniteError);
}

TEST(Trainer, MissingCheckpointOrEvalDatasetIsAnError) {
  const TokenizedDataset data = testing::random_token_rows(8, 5);
  auto model = tiny_model(/*dropout=*/false);
  const auto out = make_temp_dir("trainer_nockpt");
  TrainingArguments args = quiet_args(out);
  args.max_steps = 2;
  Trainer trainer(model, args, data, nullptr, quiet_options());
  EXPECT_THROW(trainer.train("latest"), InvalidArgument);
  EXPECT_THROW(trainer.train((out / "checkpoint-7").string()), InvalidArgument);
  args.eval_strategy = IntervalStrategy::kSteps;
  Trainer without_eval(model, args, data, nullptr, quiet_options());
  EXPECT_THROW(without_eval.train(), InvalidArgument);
}

// A regression dataset (float labels) trains a num_labels == 1 model with MSELoss, as Trainer
// does for STS-B-like data; evaluate() reports the MSE.
TEST(Trainer, RegressionLabelsTrainWithMeanSquaredError) {
  TokenizedDataset data = testing::random_token_rows(16, 21);
  data.labels.type = LabelType::kRegression;
  for (std::int64_t id : data.labels.ids) data.labels.values.push_back(2.0f + 0.5f * float(id));
  data.labels.ids.clear();
  const fs::path dir = fixture("golden/tiny");
  BertConfig config = BertConfig::from_pretrained(dir);
  config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0;
  StateDict weights = load_safetensors(dir / "model.safetensors");
  weights.erase("classifier.weight");
  weights.erase("classifier.bias");
  auto model = BertForSequenceClassification::from_state_dict(config, weights,
                                                              {.verbose = false, .num_labels = 1});
  const auto out = make_temp_dir("trainer_regression");
  TrainingArguments args = quiet_args(out);
  args.num_train_epochs = 8;
  args.per_device_train_batch_size = 4;
  args.learning_rate = 1e-2;
  args.save_strategy = IntervalStrategy::kNo;
  TrainerOptions options = quiet_options();
  options.save_final_model = false;
  std::vector<float> losses;
  options.on_step = [&](const TrainerStep& step) { losses.push_back(step.loss); };
  Trainer trainer(model, args, data, &data, options);
  trainer.train();
  ASSERT_EQ(losses.size(), 32u);
  // Targets near 2.25 against outputs near 0: the squared error falls as the head fits the mean.
  const float first = (losses[0] + losses[1] + losses[2] + losses[3]) / 4;
  const float last = (losses[28] + losses[29] + losses[30] + losses[31]) / 4;
  EXPECT_GT(first, 3.0f);
  EXPECT_LT(last, 0.5f * first);
  const LogEntry metrics = trainer.evaluate();
  bool has_loss = false;
  for (const auto& [key, value] : metrics) {
    if (key == "eval_loss") {
      has_loss = true;
      EXPECT_LT(std::get<double>(value), 0.5 * first);
    }
  }
  EXPECT_TRUE(has_loss);
}

int run_cli(const std::string& arguments) {
  return testing::run_command(testing::cli_path().string() + " " + arguments + " >/dev/null 2>&1")
      .status;
}

TEST(TrainCli, TrainsSavesAndResumes) {
  const auto out = make_temp_dir("trainer_cli");
  const std::string common = "train --model " + fixture("golden/tiny").string() + " --train-file " +
                             fixture("trainer/tiny_texts.jsonl").string() + " --eval-file " +
                             fixture("trainer/tiny_texts.jsonl").string() +
                             " --max-length 32 --per-device-train-batch-size 4 --logging-steps 1"
                             " --save-steps 2 --save-total-limit 2 --eval-strategy epoch"
                             " --report-to none --disable-tqdm --output-dir " +
                             out.string();
  ASSERT_EQ(run_cli(common + " --max-steps 4"), 0);
  EXPECT_TRUE(fs::is_regular_file(out / "model.safetensors"));
  EXPECT_TRUE(fs::is_regular_file(out / "vocab.txt"));
  EXPECT_TRUE(fs::is_regular_file(out / "checkpoint-4" / "vocab.txt"));
  // A longer run from the newest checkpoint (the schedule stretches to the new max_steps).
  ASSERT_EQ(run_cli(common + " --max-steps 8 --resume-from-checkpoint latest"), 0);
  EXPECT_TRUE(fs::is_directory(out / "checkpoint-8"));
  // Bad input is an error message and exit status, never a crash.
  EXPECT_NE(run_cli(common + " --lr-scheduler-type nope"), 0);
  EXPECT_NE(
      run_cli("train --model " + fixture("golden/tiny").string() + " --output-dir " + out.string()),
      0);
}

// Two half batches accumulated are one full batch: with rows padded to one width the mean of the
// two half-batch means is the full-batch mean, so both runs agree up to float rounding.
TEST(Trainer, GradientAccumulationMatchesTheFullBatch) {
  const TokenizedDataset data = testing::random_token_rows(12, 6);
  auto run = [&](std::int64_t batch, std::int64_t accumulation) {
    auto model = tiny_model(/*dropout=*/false);
    TrainingArguments args = quiet_args(make_temp_dir("trainer_ga"));
    args.max_steps = 3;
    args.learning_rate = 1e-3;
    args.per_device_train_batch_size = batch;
    args.gradient_accumulation_steps = accumulation;
    args.logging_steps = 1;
    args.save_strategy = IntervalStrategy::kNo;
    TrainerOptions options = quiet_options();
    options.shuffle = false;
    options.padding.mode = PadMode::kMaxLength;
    options.save_final_model = false;
    Trainer trainer(model, args, data, nullptr, options);
    const TrainOutput out = trainer.train();
    EXPECT_EQ(out.global_step, 3);
    return std::make_pair(std::vector<float>(model.parameters().begin(), model.parameters().end()),
                          trainer.state().log_history);
  };
  const auto [full, full_logs] = run(4, 1);
  const auto [accumulated, accumulated_logs] = run(2, 2);
  ASSERT_EQ(full.size(), accumulated.size());
  double worst = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(full[i]) - accumulated[i]));
  }
  EXPECT_LT(worst, 1e-6);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(std::get<double>(full_logs[i][0].second),
                std::get<double>(accumulated_logs[i][0].second), 1.1e-4)
        << "logged loss of step " << i + 1;
  }
}

}  // namespace
}  // namespace bertkit
