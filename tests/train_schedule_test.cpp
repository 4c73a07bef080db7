// Learning-rate schedules against HF: the lr of every step of the golden trajectories (Trainer's
// linear warmup schedule, the lr used by each optimizer.step() and the lr Trainer logs after
// scheduler.step()), and the other schedules' lambdas against values computed with
// transformers.optimization's formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bertkit/optimization.h"
#include "bertkit/training_logs.h"
#include "support/paths.h"

namespace bertkit {
namespace {

using ::bertkit::testing::fixture;

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << file;
  return nlohmann::json::parse(in);
}

class GoldenTrajectory : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTrajectory, LearningRatesUsedAndLoggedMatchHF) {
  const auto golden = read_json(fixture(GetParam()));
  const auto& sched = golden["scheduler"];
  ASSERT_EQ(sched["type"], "linear");
  LRScheduler scheduler(SchedulerType::kLinear, golden["base_learning_rate"].get<double>(),
                        sched["num_warmup_steps"].get<std::int64_t>(),
                        sched["num_training_steps"].get<std::int64_t>());
  for (const auto& step : golden["steps"]) {
    const double used = step["learning_rate"].get<double>();
    const double logged = step["learning_rate_logged_by_trainer"].get<double>();
    EXPECT_NEAR(scheduler.get_last_lr(), used, 1e-12) << "step " << step["step"];
    EXPECT_EQ(python_float_repr(scheduler.get_last_lr()), python_float_repr(used));
    scheduler.step();  // optimizer.step() ran with `used`; now scheduler.step()
    EXPECT_NEAR(scheduler.get_last_lr(), logged, 1e-12) << "step " << step["step"];
    EXPECT_EQ(python_float_repr(scheduler.get_last_lr()), python_float_repr(logged));
  }
}

INSTANTIATE_TEST_SUITE_P(TinyAndSmall, GoldenTrajectory,
                         ::testing::Values("golden/tiny/trajectory.json",
                                           "golden/tiny/trajectory_lr1e-3.json",
                                           "golden/small/trajectory.json",
                                           "golden/small/trajectory_lr1e-3.json"));

TEST(LRScheduler, FirstStepRunsAtZeroWithWarmup) {
  LRScheduler s(SchedulerType::kLinear, 5e-5, 500, 18750);
  EXPECT_EQ(s.get_last_lr(), 0.0);
  for (int i = 0; i < 500; ++i) s.step();
  EXPECT_EQ(python_float_repr(s.get_last_lr()), "5e-05");
  s.step();
  EXPECT_EQ(s.lr_lambda(18750), 0.0);
  EXPECT_EQ(s.lr_lambda(20000), 0.0);  // clamped at 0 past the end
}

TEST(LRScheduler, CosineFollowsHFFormula) {
  LRScheduler s(SchedulerType::kCosine, 1e-3, 10, 110);
  EXPECT_EQ(s.lr_lambda(5), 0.5);
  EXPECT_EQ(s.lr_lambda(10), 1.0);
  // progress 0.5 with num_cycles 0.5: 0.5 * (1 + cos(pi * 0.5)).
  EXPECT_EQ(s.lr_lambda(60), std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * 0.5))));
  EXPECT_NEAR(s.lr_lambda(110), 0.0, 1e-16);
}

TEST(LRScheduler, CosineWithRestartsRestartsEachCycle) {
  LRScheduler s(SchedulerType::kCosineWithRestarts, 1e-3, 0, 100, {{"num_cycles", 2.0}});
  EXPECT_EQ(s.lr_lambda(0), 1.0);
  EXPECT_EQ(s.lr_lambda(50), 1.0);  // second cycle starts again at the top
  EXPECT_EQ(s.lr_lambda(100), 0.0);
}

TEST(LRScheduler, ConstantSchedules) {
  LRScheduler c(SchedulerType::kConstant, 2e-5, 100, 1000);
  EXPECT_EQ(c.get_last_lr(), 2e-5);  // constant ignores warmup
  LRScheduler w(SchedulerType::kConstantWithWarmup, 2e-5, 4, 1000);
  EXPECT_EQ(w.lr_lambda(1), 0.25);
  EXPECT_EQ(w.lr_lambda(4), 1.0);
  EXPECT_EQ(w.lr_lambda(999999), 1.0);
}

TEST(LRScheduler, PolynomialAndInverseSqrt) {
  LRScheduler p(SchedulerType::kPolynomial, 1e-3, 0, 10, {{"power", 2.0}});
  const double lr_end = 1e-7;
  EXPECT_EQ(p.lr_lambda(5), ((1e-3 - lr_end) * std::pow(0.5, 2.0) + lr_end) / 1e-3);
  EXPECT_EQ(p.lr_lambda(11), lr_end / 1e-3);
  EXPECT_THROW(LRScheduler(SchedulerType::kPolynomial, 1e-8, 0, 10), InvalidArgument);
  LRScheduler r(SchedulerType::kInverseSqrt, 1e-3, 4, 100);
  EXPECT_EQ(r.lr_lambda(4), 1.0);
  EXPECT_EQ(r.lr_lambda(16), 1.0 / std::sqrt(16.0 / 4.0));
}

TEST(LRScheduler, ForTrainingUsesWarmupRatio) {
  TrainingArguments args;
  args.output_dir = "out";
  args.warmup_ratio = 0.1;
  args.finalize();
  const LRScheduler s = LRScheduler::for_training(args, 1001);
  EXPECT_EQ(s.num_warmup_steps(), 101);  // math.ceil(1001 * 0.1)
  EXPECT_EQ(s.num_training_steps(), 1001);
}

TEST(LRScheduler, JsonRoundTripKeepsPosition) {
  LRScheduler s(SchedulerType::kCosine, 3e-5, 7, 70, {{"num_cycles", 0.25}});
  for (int i = 0; i < 13; ++i) s.step();
  const LRScheduler back = LRScheduler::from_json(s.to_json());
  EXPECT_EQ(back.last_epoch(), 13);
  EXPECT_EQ(back.get_last_lr(), s.get_last_lr());
  EXPECT_EQ(back.lr_lambda(40), s.lr_lambda(40));
  EXPECT_THROW(LRScheduler::from_json("{\"lr_scheduler_type\": \"linear\"}"), FormatError);
  EXPECT_THROW(LRScheduler::from_json("not json"), FormatError);
}

}  // namespace
}  // namespace bertkit
