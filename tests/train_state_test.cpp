// trainer_state.json in HF's exact layout (json.dumps(asdict(state), indent=2, sort_keys=True)),
// DefaultFlowCallback's decisions, and checkpoint folders: atomic writing, resume discovery
// (get_last_checkpoint) and save_total_limit rotation as Trainer does them.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "bertkit/serialization.h"
#include "bertkit/trainer_state.h"
#include "support/paths.h"

namespace bertkit {
namespace {

namespace fs = std::filesystem;
using ::bertkit::testing::make_temp_dir;

TrainingArguments notebook_args(const fs::path& output_dir) {
  TrainingArguments args;
  args.output_dir = output_dir.string();
  args.per_device_train_batch_size = 4;
  args.warmup_steps = 500;
  args.weight_decay = 0.01;
  args.finalize();
  return args;
}

// What transformers 4.44 writes after the notebook's first logging step (checkpoint-500).
constexpr const char* kHFTrainerState = R"({
  "best_metric": null,
  "best_model_checkpoint": null,
  "epoch": 0.08,
  "eval_steps": 500,
  "global_step": 500,
  "is_hyper_param_search": false,
  "is_local_process_zero": true,
  "is_world_process_zero": true,
  "log_history": [
    {
      "epoch": 0.08,
      "grad_norm": 57.49171447753906,
      "learning_rate": 5e-05,
      "loss": 0.5396,
      "step": 500
    }
  ],
  "logging_steps": 500,
  "max_steps": 18750,
  "num_input_tokens_seen": 0,
  "num_train_epochs": 3,
  "save_steps": 500,
  "stateful_callbacks": {
    "TrainerControl": {
      "args": {
        "should_epoch_stop": false,
        "should_evaluate": false,
        "should_log": false,
        "should_save": true,
        "should_training_stop": false
      },
      "attributes": {}
    }
  },
  "total_flos": 526222110720000.0,
  "train_batch_size": 4,
  "trial_name": null,
  "trial_params": null
}
)";

TrainerState notebook_state_at_500() {
  const TrainingArguments args = notebook_args("results");
  TrainerState state = TrainerState::for_training(args, plan_training(args, 25000));
  state.global_step = 500;
  state.epoch = epoch_after_batch(0, 499, 6250);
  state.total_flos = floating_point_ops(500 * 4 * 512, 85648130);
  state.log(training_log_entry(0.5396f * 500, 500, 57.49171447753906f, 5e-05));
  state.control.should_save = true;
  return state;
}

TEST(TrainerState, JsonIsByteIdenticalToHF) {
  EXPECT_EQ(notebook_state_at_500().to_json(), kHFTrainerState);
}

TEST(TrainerState, LogAddsEpochAndStepLikeTrainerLog) {
  TrainerState state;
  state.global_step = 3;
  state.epoch = 0.5;
  const LogEntry shown = state.log({{"loss", 0.25}});
  EXPECT_EQ(python_repr(shown), "{'loss': 0.25, 'epoch': 0.5}");
  ASSERT_EQ(state.log_history.size(), 1u);
  EXPECT_EQ(python_repr(state.log_history[0]), "{'loss': 0.25, 'epoch': 0.5, 'step': 3}");
}

TEST(TrainerState, JsonRoundTrip) {
  const TrainerState state = notebook_state_at_500();
  const TrainerState back = TrainerState::from_json(state.to_json());
  EXPECT_EQ(back.to_json(), state.to_json());
  EXPECT_EQ(back.global_step, 500);
  EXPECT_TRUE(back.control.should_save);
  EXPECT_THROW(TrainerState::from_json("[1, 2]"), FormatError);
  EXPECT_THROW(TrainerState::from_json("{\"global_step\": \"x\"}"), FormatError);
}

TEST(TrainerState, NonFiniteValuesAsPythonWritesThem) {
  TrainerState state;
  state.global_step = 2;
  state.log({{"loss", 0.7}, {"grad_norm", std::numeric_limits<double>::infinity()}});
  state.log({{"grad_norm", std::nan("")}, {"note", std::string("NaN Infinity")}});
  state.best_metric = -std::numeric_limits<double>::infinity();
  const std::string text = state.to_json();
  EXPECT_NE(text.find("\"grad_norm\": Infinity,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"grad_norm\": NaN,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"best_metric\": -Infinity,"), std::string::npos) << text;
  const TrainerState back = TrainerState::from_json(text);
  EXPECT_EQ(back.to_json(), text);
  EXPECT_EQ(std::get<std::string>(back.log_history[1][1].second), "NaN Infinity");
}

TEST(DefaultFlow, LogsEvaluatesSavesAndStops) {
  TrainingArguments args = notebook_args("results");
  args.logging_first_step = true;
  args.eval_strategy = IntervalStrategy::kSteps;
  args.eval_steps = 250;
  args.finalize();
  TrainerState state = TrainerState::for_training(args, plan_training(args, 25000));
  TrainerControl c;
  state.global_step = 1;
  default_flow_on_step_end(args, state, c);
  EXPECT_TRUE(c.should_log);
  EXPECT_FALSE(c.should_save);
  c = {};
  state.global_step = 250;
  default_flow_on_step_end(args, state, c);
  EXPECT_TRUE(c.should_evaluate);
  EXPECT_FALSE(c.should_log);
  c = {};
  state.global_step = 500;
  default_flow_on_step_end(args, state, c);
  EXPECT_TRUE(c.should_log && c.should_evaluate && c.should_save && !c.should_training_stop);
  c = {};
  state.global_step = 18750;
  default_flow_on_step_end(args, state, c);
  EXPECT_TRUE(c.should_training_stop && c.should_save);
  args.save_strategy = IntervalStrategy::kEpoch;
  args.eval_strategy = IntervalStrategy::kNo;
  c = {};
  default_flow_on_epoch_end(args, state, c);
  EXPECT_TRUE(c.should_save);
  EXPECT_FALSE(c.should_evaluate);
}

class Checkpoints : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("bertkit-ckpt"); }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path save(std::int64_t step) {
    TrainingArguments args = notebook_args(dir_);
    TrainerState state;
    state.global_step = step;
    std::vector<ParameterSlice> slices = {{"classifier.weight", 0, 4, {2, 2}},
                                          {"classifier.bias", 4, 2, {2}}};
    AdamW adamw(trainer_param_groups(slices, 0.01), 6);
    std::vector<float> params(6, 1.0f), grads = {1, 2, 3, 4, 5, 6};
    adamw.step(params, grads);
    LRScheduler scheduler(SchedulerType::kLinear, 5e-5, 2, 10);
    scheduler.step();
    RngStates rng{{"sampler", {1, 2, 18446744073709551615ull}}};
    CheckpointContents contents{
        &args, &state, &adamw, &scheduler, &rng, [&](const fs::path& folder) {
          StateDict weights;
          weights["classifier.bias"] =
              Tensor::from<float>({2}, std::span<const float>(params).subspan(4));
          save_safetensors(folder / "model.safetensors", weights);
        }};
    return save_checkpoint(dir_, step, contents);
  }

  fs::path dir_;
};

TEST_F(Checkpoints, WritesEveryFileAndNoTemporaryFolder) {
  const fs::path ckpt = save(500);
  EXPECT_EQ(ckpt, dir_ / "checkpoint-500");
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "scheduler.json",
                           "rng_state.json", "training_args.json", "trainer_state.json"}) {
    EXPECT_TRUE(fs::is_regular_file(ckpt / file)) << file;
  }
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_EQ(TrainerState::load(ckpt / "trainer_state.json").global_step, 500);
  EXPECT_EQ(LRScheduler::load(ckpt / "scheduler.json").last_epoch(), 1);
  EXPECT_EQ(load_rng_state(ckpt / "rng_state.json").at("sampler").back(), 18446744073709551615ull);
  EXPECT_EQ(TrainingArguments::load(ckpt / "training_args.json").per_device_train_batch_size, 4);
  // Saving the same step again replaces the folder.
  EXPECT_EQ(save(500), ckpt);
  EXPECT_TRUE(fs::is_regular_file(ckpt / "trainer_state.json"));
}

TEST_F(Checkpoints, FailedWriteLeavesNothingBehind) {
  TrainingArguments args = notebook_args(dir_);
  TrainerState state;
  CheckpointContents contents{
      &args,   &state,  nullptr,
      nullptr, nullptr, [](const fs::path&) { throw IoError("disk full (simulated)"); }};
  EXPECT_THROW(save_checkpoint(dir_, 7, contents), IoError);
  EXPECT_TRUE(fs::is_empty(dir_));
  EXPECT_FALSE(get_last_checkpoint(dir_).has_value());
}

TEST_F(Checkpoints, LastCheckpointIgnoresTemporaryAndIncompleteFolders) {
  EXPECT_FALSE(get_last_checkpoint(dir_).has_value());
  save(500);
  save(1500);
  save(1000);
  fs::create_directories(dir_ / "checkpoint-2000.tmp-abc123");  // a crashed save
  std::ofstream(dir_ / "checkpoint-2000.tmp-abc123" / "trainer_state.json") << "{}";
  fs::create_directories(dir_ / "checkpoint-3000");  // no trainer_state.json: incomplete
  std::ofstream(dir_ / "checkpoint-9000");           // a file, not a folder
  fs::create_directories(dir_ / "checkpoint-x");
  ASSERT_TRUE(get_last_checkpoint(dir_).has_value());
  EXPECT_EQ(*get_last_checkpoint(dir_), dir_ / "checkpoint-1500");
}

TEST_F(Checkpoints, RotationKeepsNewestAndBest) {
  for (int step : {100, 200, 300, 400, 500}) save(step);
  EXPECT_TRUE(rotate_checkpoints(dir_, std::nullopt).empty());
  EXPECT_TRUE(rotate_checkpoints(dir_, 0).empty());
  const std::string best = (dir_ / "checkpoint-200").string();
  const auto sorted = sorted_checkpoints(dir_, best);
  ASSERT_EQ(sorted.size(), 5u);
  EXPECT_EQ(sorted[3], dir_ / "checkpoint-200");  // moved to second-to-last
  const auto deleted = rotate_checkpoints(dir_, 2, best);
  ASSERT_EQ(deleted.size(), 3u);
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-200"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-500"));
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint-100"));
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint-400"));
  // Limit 1 with an older best keeps two so that the newest can be resumed.
  save(600);
  rotate_checkpoints(dir_, 1, best);
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-200"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-600"));
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint-500"));
  rotate_checkpoints(dir_, 1);
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint-200"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-600"));
}

TEST(RngState, RejectsMalformedFiles) {
  const fs::path dir = make_temp_dir("bertkit-rng");
  std::ofstream(dir / "bad.json") << R"({"sampler": [1, -2]})";
  EXPECT_THROW(load_rng_state(dir / "bad.json"), FormatError);
  EXPECT_THROW(load_rng_state(dir / "absent.json"), IoError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bertkit
