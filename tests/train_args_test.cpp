// TrainingArguments: HF 4.44.2 defaults in training_args.json (json.dumps(to_dict(), indent=2)
// layout), __post_init__'s derived values and refusals, and the step arithmetic of
// Trainer._inner_training_loop (update steps per epoch, max_steps, epochs, warmup, intervals).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "bertkit/error.h"
#include "bertkit/training_args.h"

namespace bertkit {
namespace {

TrainingArguments make(const std::string& output_dir = "out") {
  TrainingArguments args;
  args.output_dir = output_dir;
  return args;
}

template <class F>
void expect_invalid(F&& configure, const std::string& field) {
  TrainingArguments args = make();
  configure(args);
  try {
    args.finalize();
    FAIL() << "expected InvalidArgument for " << field;
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(TrainingArguments, DefaultsAreHFs) {
  TrainingArguments args = make();
  args.finalize();
  const std::string text = args.to_json();
  // Python's json layout of the float defaults.
  for (const char* line :
       {"\"learning_rate\": 5e-05,", "\"adam_epsilon\": 1e-08,", "\"num_train_epochs\": 3.0,",
        "\"max_steps\": -1,", "\"logging_steps\": 500,", "\"save_steps\": 500,",
        "\"warmup_ratio\": 0.0,", "\"weight_decay\": 0.0,", "\"adam_beta2\": 0.999,",
        "\"lr_scheduler_kwargs\": {},", "\"save_total_limit\": null,"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(text.substr(0, 24), "{\n  \"output_dir\": \"out\",");
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["per_device_train_batch_size"], 8);
  EXPECT_EQ(j["per_device_eval_batch_size"], 8);
  EXPECT_EQ(j["gradient_accumulation_steps"], 1);
  EXPECT_EQ(j["adam_beta1"], 0.9);
  EXPECT_EQ(j["max_grad_norm"], 1.0);
  EXPECT_EQ(j["warmup_steps"], 0);
  EXPECT_EQ(j["lr_scheduler_type"], "linear");
  EXPECT_EQ(j["eval_strategy"], "no");
  EXPECT_EQ(j["save_strategy"], "steps");
  EXPECT_EQ(j["logging_strategy"], "steps");
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["logging_first_step"], false);
  EXPECT_EQ(j["group_by_length"], false);
  EXPECT_EQ(j["dataloader_drop_last"], false);
  EXPECT_EQ(j["disable_tqdm"], false);
  EXPECT_EQ(j["optim"], "adamw_torch");
  EXPECT_EQ(j["run_name"], "out");
  EXPECT_EQ(j["report_to"], nlohmann::json({"tensorboard", "jsonl"}));
  EXPECT_TRUE(j["eval_steps"].is_null());
  EXPECT_TRUE(j["resume_from_checkpoint"].is_null());
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const std::regex logdir(R"(out/runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_)" + std::string(host));
  EXPECT_TRUE(std::regex_match(args.logging_dir, logdir)) << args.logging_dir;
}

TEST(TrainingArguments, JsonRoundTrip) {
  TrainingArguments args = make("results");
  args.learning_rate = 2e-5;
  args.num_train_epochs = 2.5;
  args.logging_steps = 0.1;
  args.save_total_limit = 3;
  args.lr_scheduler_type = SchedulerType::kCosine;
  args.lr_scheduler_kwargs = {{"num_cycles", 0.25}};
  args.report_to = {"none"};
  args.resume_from_checkpoint = "results/checkpoint-500";
  args.finalize();
  const TrainingArguments back = TrainingArguments::from_json(args.to_json());
  EXPECT_EQ(back.to_json(), args.to_json());
  EXPECT_EQ(back.logging_steps, 0.1);
  EXPECT_TRUE(back.report_to.empty());
  EXPECT_FALSE(back.reports_to("tensorboard"));
  EXPECT_EQ(back.lr_scheduler_kwargs.at("num_cycles"), 0.25);
}

TEST(TrainingArguments, FromJsonRefusesBadContent) {
  EXPECT_THROW(TrainingArguments::from_json("{"), FormatError);
  EXPECT_THROW(TrainingArguments::from_json("[]"), FormatError);
  EXPECT_THROW(TrainingArguments::from_json(R"({"output_dir": "o", "learning_rate": "fast"})"),
               FormatError);
  EXPECT_THROW(TrainingArguments::from_json(R"({"output_dir": "o", "max_steps": 1.5})"),
               FormatError);
  EXPECT_THROW(
      TrainingArguments::from_json(R"({"output_dir": "o", "lr_scheduler_type": "cyclic"})"),
      FormatError);
  EXPECT_THROW(TrainingArguments::from_json(R"({"output_dir": "o", "eval_strategy": "sometimes"})"),
               FormatError);
  EXPECT_THROW(TrainingArguments::from_json(R"({"learning_rate": 1e-5})"),
               InvalidArgument);  // no output_dir
}

TEST(TrainingArguments, FinalizeRefusesWithTheFieldName) {
  expect_invalid([](auto& a) { a.output_dir.clear(); }, "output_dir");
  expect_invalid([](auto& a) { a.warmup_ratio = 1.5; }, "warmup_ratio");
  expect_invalid([](auto& a) { a.logging_steps = 2.5; }, "logging_steps");
  expect_invalid([](auto& a) { a.logging_steps = 0; }, "logging_steps");
  expect_invalid([](auto& a) { a.save_steps = -1; }, "save_steps");
  expect_invalid([](auto& a) { a.per_device_train_batch_size = 0; }, "per_device_train_batch_size");
  expect_invalid([](auto& a) { a.gradient_accumulation_steps = 0; }, "gradient_accumulation_steps");
  expect_invalid([](auto& a) { a.learning_rate = -1; }, "learning_rate");
  expect_invalid([](auto& a) { a.adam_beta1 = 1.0; }, "adam_beta1");
  expect_invalid([](auto& a) { a.num_train_epochs = std::nan(""); }, "num_train_epochs");
  expect_invalid([](auto& a) { a.optim = "adafactor"; }, "optim");
  expect_invalid([](auto& a) { a.report_to = {"wandb"}; }, "report_to");
  expect_invalid([](auto& a) { a.lr_scheduler_kwargs = {{"gamma", 1.0}}; }, "lr_scheduler_kwargs");
  expect_invalid(
      [](auto& a) {
        a.load_best_model_at_end = true;
        a.eval_strategy = IntervalStrategy::kEpoch;
      },
      "load_best_model_at_end");
  expect_invalid(
      [](auto& a) {
        a.load_best_model_at_end = true;
        a.eval_strategy = IntervalStrategy::kSteps;
        a.eval_steps = 300;
      },
      "load_best_model_at_end");
  EXPECT_THROW(parse_scheduler_type("cyclic"), InvalidArgument);
  EXPECT_EQ(parse_scheduler_type("constant_with_warmup"), SchedulerType::kConstantWithWarmup);
}

TEST(TrainingArguments, FinalizeDerivesHFDefaults) {
  TrainingArguments a = make();
  a.eval_strategy = IntervalStrategy::kSteps;
  a.logging_steps = 50;
  a.load_best_model_at_end = true;
  a.save_steps = 100;
  a.logging_dir = "logs";
  a.finalize();
  EXPECT_TRUE(a.do_eval);
  ASSERT_TRUE(a.eval_steps.has_value());
  EXPECT_EQ(*a.eval_steps, 50);
  EXPECT_EQ(a.metric_for_best_model, "loss");
  EXPECT_EQ(a.greater_is_better, false);
  EXPECT_EQ(a.logging_dir, "logs");
  TrainingArguments b = make();
  b.metric_for_best_model = "accuracy";
  b.finalize();
  EXPECT_EQ(b.greater_is_better, true);
  b.finalize();  // idempotent
  EXPECT_EQ(b.report_to, (std::vector<std::string>{"tensorboard", "jsonl"}));
}

TEST(TrainingPlan, NotebookRun) {
  TrainingArguments a = make();
  a.per_device_train_batch_size = 4;
  a.warmup_steps = 500;
  a.finalize();
  const TrainingPlan p = plan_training(a, 25000);
  EXPECT_EQ(p.len_dataloader, 6250);
  EXPECT_EQ(p.num_update_steps_per_epoch, 6250);
  EXPECT_EQ(p.max_steps, 18750);  // the notebook's progress bar total
  EXPECT_EQ(p.num_train_epochs, 3);
  EXPECT_EQ(p.num_train_samples, 75000.0);
  EXPECT_EQ(p.warmup_steps, 500);
  EXPECT_EQ(p.logging_steps, 500);
  EXPECT_EQ(p.save_steps, 500);
  EXPECT_EQ(p.eval_steps, 500);
  EXPECT_EQ(epoch_after_batch(0, 499, p.len_dataloader), 0.08);
  EXPECT_EQ(epoch_after_batch(2, 6249, p.len_dataloader), 3.0);
}

TEST(TrainingPlan, FractionalEpochsAccumulationAndRatios) {
  TrainingArguments a = make();
  a.per_device_train_batch_size = 8;
  a.gradient_accumulation_steps = 3;
  a.num_train_epochs = 2.5;
  a.warmup_ratio = 0.06;
  a.logging_steps = 0.25;
  a.finalize();
  const TrainingPlan p = plan_training(a, 75);  // 10 batches, the last one short
  EXPECT_EQ(p.len_dataloader, 10);
  EXPECT_EQ(p.num_update_steps_per_epoch, 3);  // 10 // 3
  EXPECT_EQ(p.max_steps, 8);                   // ceil(2.5 * 3)
  EXPECT_EQ(p.num_train_epochs, 3);
  EXPECT_EQ(p.total_train_batch_size, 24);
  EXPECT_EQ(p.num_train_samples, 187.5);
  EXPECT_EQ(p.warmup_steps, 1);   // ceil(8 * 0.06)
  EXPECT_EQ(p.logging_steps, 2);  // ceil(8 * 0.25)
  a.dataloader_drop_last = true;
  EXPECT_EQ(plan_training(a, 75).len_dataloader, 9);
}

TEST(TrainingPlan, MaxStepsOverridesEpochs) {
  TrainingArguments a = make();
  a.per_device_train_batch_size = 4;
  a.max_steps = 5;
  a.warmup_steps = 2;
  a.finalize();
  const TrainingPlan p = plan_training(a, 10);  // 3 batches per epoch
  EXPECT_EQ(p.max_steps, 5);
  EXPECT_EQ(p.num_train_epochs, 2);  // 5 // 3 + 1
  EXPECT_EQ(p.num_train_samples, 20.0);
  EXPECT_EQ(p.warmup_steps, 2);
}

TEST(TrainingPlan, RefusesNothingToTrain) {
  TrainingArguments a = make();
  a.finalize();
  EXPECT_THROW(plan_training(a, 0), InvalidArgument);
  a.dataloader_drop_last = true;
  EXPECT_THROW(plan_training(a, 7), InvalidArgument);
  a.dataloader_drop_last = false;
  a.num_train_epochs = 0;
  EXPECT_THROW(plan_training(a, 100), InvalidArgument);
}

TEST(GradientAccumulation, StepsEveryWindowAndAtShortEpochEnd) {
  // 7 batches per epoch, accumulation 3: windows count batches over the whole run, as HF's
  // total_batched_samples does.
  std::vector<std::int64_t> steps;
  std::int64_t total = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (int batch = 0; batch < 7; ++batch) {
      ++total;
      if (is_optimizer_step(total, batch, 7, 3)) steps.push_back(total);
    }
  }
  EXPECT_EQ(steps, (std::vector<std::int64_t>{3, 6, 9, 12}));
  // An epoch shorter than the window still steps at its last batch.
  EXPECT_TRUE(is_optimizer_step(2, 1, 2, 4));
  EXPECT_FALSE(is_optimizer_step(1, 0, 2, 4));
}

}  // namespace
}  // namespace bertkit
