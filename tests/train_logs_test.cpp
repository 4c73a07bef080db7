// Python-compatible log formatting: float repr and round() against values whose Python output is
// known, and every log line of the reference notebook (HF Trainer, transformers 4.44) rebuilt from
// its parts: the learning rate from our schedule, the epoch from our step arithmetic, the loss
// through round(x, 4) and grad_norm as a float32 seen from Python.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "bertkit/optimization.h"
#include "bertkit/training_args.h"
#include "bertkit/training_logs.h"

namespace bertkit {
namespace {

TEST(PythonFloatRepr, MatchesPythonForKnownValues) {
  const std::vector<std::pair<double, std::string>> cases = {
      {5e-05, "5e-05"},
      {4.863013698630137e-05, "4.863013698630137e-05"},
      {1e-16, "1e-16"},
      {0.0001, "0.0001"},
      {1e-05, "1e-05"},
      {1234.5, "1234.5"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {1e22, "1e+22"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {3.0, "3.0"},
      {-2.5, "-2.5"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {123456789.0, "123456789.0"},
      {1.5e300, "1.5e+300"},
      {12345678901234567.0, "1.2345678901234568e+16"},
      {9007199254740993.0, "9007199254740992.0"},
      {9.223372036854776e+18, "9.223372036854776e+18"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {6.849315068493151e-07, "6.849315068493151e-07"},
      {0.2728967039489746, "0.2728967039489746"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::numeric_limits<double>::quiet_NaN(), "nan"},
  };
  for (const auto& [value, expected] : cases)
    EXPECT_EQ(python_float_repr(value), expected) << expected;
}

TEST(PythonRound, RoundsTheExactBinaryValueTiesToEven) {
  EXPECT_EQ(python_round(2.675, 2), 2.67);  // 2.675 is really 2.67499999...
  EXPECT_EQ(python_round(0.125, 2), 0.12);  // an exact tie goes to even
  EXPECT_EQ(python_round(0.375, 2), 0.38);
  EXPECT_EQ(python_round(0.53961234, 4), 0.5396);
  EXPECT_EQ(python_round(3876.82261234, 4), 3876.8226);
  EXPECT_EQ(python_float_repr(python_round(0.16, 2)), "0.16");
  EXPECT_TRUE(std::isnan(python_round(std::nan(""), 4)));
  EXPECT_THROW(python_round(1.0, -1), InvalidArgument);
}

TEST(PythonRepr, DictOfMixedValues) {
  LogEntry entry{{"loss", 0.5}, {"step", std::int64_t{12}}, {"name", std::string("it's")}};
  EXPECT_EQ(python_repr(entry), R"({'loss': 0.5, 'step': 12, 'name': "it's"})");
  EXPECT_EQ(python_repr(LogValue{std::string("a\\b'\"")}), R"('a\\b\'"')");
}

TEST(FormatLogLine, DropsTotalFlosAndRoundsEpoch) {
  LogEntry logs{{"train_runtime", 3876.8226}, {"total_flos", 1.5e16}, {"epoch", 0.0799999999}};
  EXPECT_EQ(format_log_line(logs), "{'train_runtime': 3876.8226, 'epoch': 0.08}");
}

// The 37 log lines of /work/shared/reference/notebook.txt: IMDB (25000 examples), batch 4,
// 3 epochs, warmup 500, lr 5e-5, logging every 500 steps.
const std::vector<std::string> kNotebookLines = {
    R"({'loss': 0.5396, 'grad_norm': 57.49171447753906, 'learning_rate': 5e-05, 'epoch': 0.08})",
    R"({'loss': 0.5416, 'grad_norm': 9.111489295959473, 'learning_rate': 4.863013698630137e-05, 'epoch': 0.16})",
    R"({'loss': 0.4923, 'grad_norm': 0.3694137632846832, 'learning_rate': 4.726027397260274e-05, 'epoch': 0.24})",
    R"({'loss': 0.4673, 'grad_norm': 25.703596115112305, 'learning_rate': 4.589041095890411e-05, 'epoch': 0.32})",
    R"({'loss': 0.4554, 'grad_norm': 8.654304504394531, 'learning_rate': 4.452054794520548e-05, 'epoch': 0.4})",
    R"({'loss': 0.4689, 'grad_norm': 17.73918342590332, 'learning_rate': 4.3150684931506855e-05, 'epoch': 0.48})",
    R"({'loss': 0.4482, 'grad_norm': 0.19607552886009216, 'learning_rate': 4.1780821917808224e-05, 'epoch': 0.56})",
    R"({'loss': 0.4312, 'grad_norm': 9.35656452178955, 'learning_rate': 4.041095890410959e-05, 'epoch': 0.64})",
    R"({'loss': 0.4376, 'grad_norm': 1.4899685382843018, 'learning_rate': 3.904109589041096e-05, 'epoch': 0.72})",
    R"({'loss': 0.4632, 'grad_norm': 0.2304084300994873, 'learning_rate': 3.767123287671233e-05, 'epoch': 0.8})",
    R"({'loss': 0.3996, 'grad_norm': 25.21976089477539, 'learning_rate': 3.63013698630137e-05, 'epoch': 0.88})",
    R"({'loss': 0.4196, 'grad_norm': 10.193493843078613, 'learning_rate': 3.493150684931507e-05, 'epoch': 0.96})",
    R"({'loss': 0.3272, 'grad_norm': 0.05335897579789162, 'learning_rate': 3.356164383561644e-05, 'epoch': 1.04})",
    R"({'loss': 0.2588, 'grad_norm': 0.7967578768730164, 'learning_rate': 3.219178082191781e-05, 'epoch': 1.12})",
    R"({'loss': 0.2978, 'grad_norm': 48.885040283203125, 'learning_rate': 3.082191780821918e-05, 'epoch': 1.2})",
    R"({'loss': 0.2567, 'grad_norm': 0.3560728430747986, 'learning_rate': 2.945205479452055e-05, 'epoch': 1.28})",
    R"({'loss': 0.2406, 'grad_norm': 0.06602785736322403, 'learning_rate': 2.808219178082192e-05, 'epoch': 1.36})",
    R"({'loss': 0.2412, 'grad_norm': 29.276275634765625, 'learning_rate': 2.671232876712329e-05, 'epoch': 1.44})",
    R"({'loss': 0.2416, 'grad_norm': 0.06330031901597977, 'learning_rate': 2.534246575342466e-05, 'epoch': 1.52})",
    R"({'loss': 0.2592, 'grad_norm': 0.05070902034640312, 'learning_rate': 2.3972602739726026e-05, 'epoch': 1.6})",
    R"({'loss': 0.2729, 'grad_norm': 81.3860855102539, 'learning_rate': 2.2602739726027396e-05, 'epoch': 1.68})",
    R"({'loss': 0.2288, 'grad_norm': 0.10501725971698761, 'learning_rate': 2.1232876712328768e-05, 'epoch': 1.76})",
    R"({'loss': 0.2385, 'grad_norm': 0.019870679825544357, 'learning_rate': 1.9863013698630137e-05, 'epoch': 1.84})",
    R"({'loss': 0.272, 'grad_norm': 0.07312991470098495, 'learning_rate': 1.8493150684931506e-05, 'epoch': 1.92})",
    R"({'loss': 0.2471, 'grad_norm': 0.13753291964530945, 'learning_rate': 1.7123287671232875e-05, 'epoch': 2.0})",
    R"({'loss': 0.084, 'grad_norm': 1083.43701171875, 'learning_rate': 1.5753424657534248e-05, 'epoch': 2.08})",
    R"({'loss': 0.123, 'grad_norm': 0.01554066687822342, 'learning_rate': 1.4383561643835617e-05, 'epoch': 2.16})",
    R"({'loss': 0.1462, 'grad_norm': 0.028229428455233574, 'learning_rate': 1.3013698630136986e-05, 'epoch': 2.24})",
    R"({'loss': 0.1217, 'grad_norm': 1.8434722423553467, 'learning_rate': 1.1643835616438355e-05, 'epoch': 2.32})",
    R"({'loss': 0.0791, 'grad_norm': 0.011949531733989716, 'learning_rate': 1.0273972602739726e-05, 'epoch': 2.4})",
    R"({'loss': 0.1024, 'grad_norm': 0.1625107228755951, 'learning_rate': 8.904109589041095e-06, 'epoch': 2.48})",
    R"({'loss': 0.1172, 'grad_norm': 0.01604519970715046, 'learning_rate': 7.5342465753424655e-06, 'epoch': 2.56})",
    R"({'loss': 0.0917, 'grad_norm': 0.09570044279098511, 'learning_rate': 6.1643835616438354e-06, 'epoch': 2.64})",
    R"({'loss': 0.0847, 'grad_norm': 0.99578857421875, 'learning_rate': 4.7945205479452054e-06, 'epoch': 2.72})",
    R"({'loss': 0.0987, 'grad_norm': 0.01294002402573824, 'learning_rate': 3.4246575342465754e-06, 'epoch': 2.8})",
    R"({'loss': 0.1108, 'grad_norm': 0.026291929185390472, 'learning_rate': 2.054794520547945e-06, 'epoch': 2.88})",
    R"({'loss': 0.102, 'grad_norm': 0.02042091079056263, 'learning_rate': 6.849315068493151e-07, 'epoch': 2.96})",
};

TEST(FormatLogLine, ReproducesEveryNotebookLogLine) {
  TrainingArguments args;
  args.output_dir = "results";
  args.per_device_train_batch_size = 4;
  args.num_train_epochs = 3;
  args.warmup_steps = 500;
  args.weight_decay = 0.01;
  args.finalize();
  const TrainingPlan plan = plan_training(args, 25000);
  ASSERT_EQ(plan.max_steps, 18750);
  LRScheduler scheduler = LRScheduler::for_training(args, plan.max_steps);
  const std::regex pattern(R"(\{'loss': ([0-9.e-]+), 'grad_norm': ([0-9.e+-]+),)");
  ASSERT_EQ(kNotebookLines.size(), 37u);
  for (std::size_t i = 0; i < kNotebookLines.size(); ++i) {
    const std::string& expected = kNotebookLines[i];
    std::smatch m;
    ASSERT_TRUE(std::regex_search(expected, m, pattern)) << expected;
    const double loss = std::stod(m[1].str());
    const float grad = std::strtof(m[2].str().c_str(), nullptr);
    const std::int64_t step = 500 * static_cast<std::int64_t>(i + 1);
    while (scheduler.last_epoch() < step) scheduler.step();  // one scheduler.step() per update
    const std::int64_t epoch = (step - 1) / plan.len_dataloader;
    const std::int64_t batch = (step - 1) % plan.len_dataloader;
    LogEntry logs =
        training_log_entry(static_cast<float>(loss * 500), 500, grad, scheduler.get_last_lr());
    logs.emplace_back("epoch", epoch_after_batch(epoch, batch, plan.len_dataloader));
    EXPECT_EQ(format_log_line(logs), expected) << "step " << step;
  }
}

TEST(FormatLogLine, ReproducesTheNotebookFinalLine) {
  LogEntry logs = speed_metrics("train", 3876.822612, 25000.0 * 3.0, 18750.0);
  logs.emplace_back("total_flos", 1.9e16);
  logs.emplace_back("train_loss", 0.2728967039489746);
  logs.emplace_back("epoch", epoch_after_batch(2, 6249, 6250));
  EXPECT_EQ(format_log_line(logs),
            "{'train_runtime': 3876.8226, 'train_samples_per_second': 19.346, "
            "'train_steps_per_second': 4.836, 'train_loss': 0.2728967039489746, 'epoch': 3.0}");
}

TEST(SpeedMetrics, ZeroRuntimeGivesOnlyTheRuntime) {
  const LogEntry logs = speed_metrics("eval", 0.0, 10.0, 2.0);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].first, "eval_runtime");
}

TEST(TrainingLogEntry, OmitsGradNormWhenNotClipping) {
  const LogEntry logs = training_log_entry(1.0f, 2, std::nullopt, 1e-5);
  EXPECT_EQ(python_repr(logs), "{'loss': 0.5, 'learning_rate': 1e-05}");
  EXPECT_THROW(training_log_entry(1.0f, 0, std::nullopt, 1e-5), InvalidArgument);
}

TEST(TensorBoardTag, RewritesAsTensorBoardCallback) {
  EXPECT_EQ(tensorboard_tag("loss"), "train/loss");
  EXPECT_EQ(tensorboard_tag("eval_loss"), "eval/loss");
  EXPECT_EQ(tensorboard_tag("test_accuracy"), "test/accuracy");
  EXPECT_EQ(tensorboard_tag("learning_rate"), "train/learning_rate");
}

}  // namespace
}  // namespace bertkit
