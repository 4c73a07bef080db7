// Trainer._inner_training_loop of transformers 4.44, step for step (see trainer.h).
#include "bertkit/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <span>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/evaluate.h"
#include "bertkit/model.h"
#include "bertkit/tokenizer.h"
#include "core/progress_bar.h"
#include "train/batch_input.h"
#include "train/evaluate_loop.h"

namespace bertkit {

namespace {

namespace fs = std::filesystem;

// splitmix64: decorrelates the per-batch dropout seeds drawn from (seed, batch number).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t dropout_seed(std::int64_t seed, std::size_t epoch, std::size_t batch) {
  return mix(mix(static_cast<std::uint64_t>(seed)) ^ mix((epoch << 32) ^ batch));
}

// HF's num_parameters(exclude_embeddings=True): everything but the nn.Embedding matrices.
std::int64_t non_embedding_parameters(const std::vector<ParameterSlice>& slices) {
  std::int64_t n = 0;
  for (const auto& s : slices) {
    const bool embedding = s.name.find("_embeddings.weight") != std::string::npos;
    if (!embedding) n += s.numel;
  }
  return n;
}

// The pooler output of every row of `data`, in dataset order, [rows * H]: the frozen encoder run
// once in eval mode. Batches take rows of similar length, which saves padding; a row's pooled
// output does not depend on its batch beyond float rounding.
std::vector<float> pooled_features(BertForSequenceClassification& model,
                                   const TokenizedDataset& data, std::size_t batch_size,
                                   const PadOptions& padding, bool progress) {
  const std::size_t n = data.size();
  const auto H = static_cast<std::size_t>(model.config().hidden_size);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&data](std::size_t a, std::size_t b) {
    return data.length(a) < data.length(b);
  });
  ProgressBarOptions bar_options;
  bar_options.description = "caching features";
  bar_options.total = static_cast<std::int64_t>((n + batch_size - 1) / batch_size);
  bar_options.enabled = progress;
  ProgressBar bar(bar_options);
  std::vector<float> features(n * H);
  for (std::size_t start = 0; start < n; start += batch_size) {
    const std::span<const std::size_t> rows(order.data() + start, std::min(batch_size, n - start));
    Batch batch = make_batch(data, rows, padding);
    // Features only: eval rows may be unlabeled.
    const ModelInput input = take_model_input(batch, /*with_labels=*/false);
    const Tensor pooled = model.pooler_output(input);
    const float* p = pooled.span<float>().data();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      std::copy_n(p + r * H, H, features.data() + rows[r] * H);
    }
    bar.update(1);
  }
  bar.close();
  return features;
}

// The cached rows of one batch, in batch order.
std::vector<float> gather_rows(const std::vector<float>& features,
                               std::span<const std::size_t> rows, std::size_t H) {
  std::vector<float> out(rows.size() * H);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(features.data() + rows[r] * H, H, out.data() + r * H);
  }
  return out;
}

}  // namespace

struct Trainer::Run {
  std::vector<ParameterSlice> slices;  // the trainable ones (the classifier alone when frozen)
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<LRScheduler> scheduler;
  std::unique_ptr<JsonlLogger> jsonl;
  std::unique_ptr<TensorBoardWriter> tensorboard;
  DataPosition position;  // the next batch to train on
};

Trainer::Trainer(BertForSequenceClassification& model, TrainingArguments args,
                 const TokenizedDataset& train_dataset, const TokenizedDataset* eval_dataset,
                 TrainerOptions options)
    : model_(model),
      args_(std::move(args)),
      train_dataset_(train_dataset),
      eval_dataset_(eval_dataset),
      options_(std::move(options)) {
  args_.finalize();
}

Trainer::~Trainer() = default;

const AdamW* Trainer::optimizer() const { return run_ ? run_->optimizer.get() : nullptr; }
const LRScheduler* Trainer::scheduler() const { return run_ ? run_->scheduler.get() : nullptr; }

LogEntry Trainer::log(LogEntry logs) {
  const LogEntry shown = state_.log(std::move(logs));
  if (options_.print_logs) {
    std::printf("%s\n", format_log_line(shown).c_str());
    std::fflush(stdout);
  }
  if (run_ && run_->jsonl) run_->jsonl->log(shown, state_.global_step);
  if (run_ && run_->tensorboard) {
    run_->tensorboard->log(shown, state_.global_step);
    run_->tensorboard->flush();
  }
  return shown;
}

void Trainer::check_cache_features() const {
  if (options_.cache_features && !model_.freeze_bert()) {
    throw InvalidArgument(
        "Trainer: cache_features needs a frozen encoder (model.set_freeze_bert(true), "
        "--freeze-encoder): cached pooler outputs hold only while the encoder does not train");
  }
}

LogEntry Trainer::evaluate() {
  if (eval_dataset_ == nullptr) throw InvalidArgument("Trainer.evaluate: no eval_dataset given");
  check_cache_features();
  const bool was_training = model_.training();
  model_.set_training(false);
  EvaluateOptions options;
  options.per_device_eval_batch_size = static_cast<std::size_t>(args_.per_device_eval_batch_size);
  options.padding = options_.padding;
  options.progress = options_.progress && !args_.disable_tqdm;
  options.epoch = state_.epoch;
  LogEntry metrics;
  if (options_.cache_features) {
    const auto H = static_cast<std::size_t>(model_.config().hidden_size);
    if (eval_features_.empty()) {
      eval_features_ = pooled_features(model_, *eval_dataset_, options.per_device_eval_batch_size,
                                       options.padding, options.progress);
    }
    metrics =
        evaluate_model_with(model_, *eval_dataset_, options, [&](Batch& batch, bool with_labels) {
          const auto B = static_cast<std::int64_t>(batch.B);
          return model_.forward_pooled(gather_rows(eval_features_, batch.indices, H), B,
                                       with_labels ? batch_labels(batch) : LabelSpan());
        }).metrics;
  } else {
    metrics = evaluate_model(model_, *eval_dataset_, options).metrics;
  }
  // evaluate_model appends the epoch; Trainer.log adds it again, so keep one.
  std::erase_if(metrics, [](const auto& kv) { return kv.first == "epoch"; });
  const LogEntry shown = log(std::move(metrics));
  if (was_training) model_.set_training(true, static_cast<std::uint64_t>(args_.seed));
  return shown;
}

void Trainer::save_model(std::optional<fs::path> dir) const {
  const fs::path out = dir ? *dir : fs::path(args_.output_dir);
  fs::create_directories(out);
  model_.save_pretrained(out);
  if (options_.tokenizer != nullptr) options_.tokenizer->save_pretrained(out);
  args_.save(out / "training_args.json");
}

void Trainer::save_checkpoint(Run& run) {
  const RngStates rng = {
      {"data_position", {run.position.epoch, run.position.batch}},
      {"seed", {static_cast<std::uint64_t>(args_.seed)}},
  };
  CheckpointContents contents;
  contents.args = &args_;
  contents.state = &state_;
  contents.optimizer = args_.save_only_model ? nullptr : run.optimizer.get();
  contents.scheduler = args_.save_only_model ? nullptr : run.scheduler.get();
  contents.rng = &rng;
  contents.write_model = [this](const fs::path& dir) {
    model_.save_pretrained(dir);
    if (options_.tokenizer != nullptr) options_.tokenizer->save_pretrained(dir);
  };
  const fs::path written = bertkit::save_checkpoint(args_.output_dir, state_.global_step, contents);
  rotate_checkpoints(args_.output_dir, args_.save_total_limit, state_.best_model_checkpoint);
  if (options_.on_save) options_.on_save(written);
}

TrainOutput Trainer::train(std::optional<std::string> resume_from_checkpoint) {
  if (!resume_from_checkpoint) resume_from_checkpoint = args_.resume_from_checkpoint;
  check_cache_features();
  if (args_.eval_strategy != IntervalStrategy::kNo && eval_dataset_ == nullptr) {
    throw InvalidArgument(
        "Trainer: eval_strategy=" + std::string(interval_strategy_name(args_.eval_strategy)) +
        " needs an eval_dataset");
  }
  const TrainingPlan plan = plan_training(args_, static_cast<std::int64_t>(train_dataset_.size()));
  const auto ga = args_.gradient_accumulation_steps;

  run_ = std::make_unique<Run>();
  Run& run = *run_;
  for (const auto& s : model_.parameter_slices()) {
    if (!model_.freeze_bert() || s.name.rfind("classifier.", 0) == 0) run.slices.push_back(s);
  }
  const auto params = model_.parameters();
  const auto grads = model_.gradients();
  run.optimizer = std::make_unique<AdamW>(
      trainer_param_groups(run.slices, args_.weight_decay),
      static_cast<std::int64_t>(params.size()),
      AdamWOptions{args_.learning_rate, args_.adam_beta1, args_.adam_beta2, args_.adam_epsilon});
  run.scheduler = std::make_unique<LRScheduler>(LRScheduler::for_training(args_, plan.max_steps));
  state_ = TrainerState::for_training(args_, plan);

  DataLoaderOptions loader_options;
  loader_options.sampler.batch_size = static_cast<std::size_t>(args_.per_device_train_batch_size);
  loader_options.sampler.shuffle = options_.shuffle;
  loader_options.sampler.seed =
      static_cast<std::uint64_t>(args_.data_seed ? *args_.data_seed : args_.seed);
  loader_options.sampler.drop_last = args_.dataloader_drop_last;
  loader_options.sampler.group_by_length = args_.group_by_length;
  loader_options.sampler.length_group_batch_size =
      static_cast<std::size_t>(args_.per_device_train_batch_size * ga);
  loader_options.padding = options_.padding;
  DataLoader loader(train_dataset_, loader_options);
  const auto steps_in_epoch = static_cast<std::int64_t>(loader.num_batches());

  if (resume_from_checkpoint) {
    fs::path checkpoint = *resume_from_checkpoint;
    if (*resume_from_checkpoint == "latest") {
      const auto last = get_last_checkpoint(args_.output_dir);
      if (!last) {
        throw InvalidArgument("resume_from_checkpoint=latest: no checkpoint-N in " +
                              args_.output_dir);
      }
      checkpoint = *last;
    }
    if (!fs::is_regular_file(checkpoint / "trainer_state.json")) {
      throw InvalidArgument("resume_from_checkpoint: " + checkpoint.string() +
                            " is not a checkpoint (no trainer_state.json)");
    }
    LoadOptions quiet;
    quiet.verbose = false;
    auto saved = BertForSequenceClassification::from_pretrained(checkpoint.string(), quiet);
    const auto saved_params = saved.parameters();
    if (saved_params.size() != params.size()) {
      throw FormatError("resume_from_checkpoint: " + checkpoint.string() +
                        " holds a model of another size");
    }
    std::copy(saved_params.begin(), saved_params.end(), params.begin());
    eval_features_.clear();  // the checkpoint's encoder may not be the one they came from
    if (fs::exists(checkpoint / "optimizer.safetensors")) {
      run.optimizer->load(checkpoint / "optimizer.safetensors");
    }
    if (fs::exists(checkpoint / "scheduler.json")) {
      // LambdaLR.load_state_dict restores the position only: the schedule itself is the one
      // these arguments build (a longer --max-steps stretches it, as in HF).
      const LRScheduler saved_scheduler = LRScheduler::load(checkpoint / "scheduler.json");
      while (run.scheduler->last_epoch() < saved_scheduler.last_epoch()) run.scheduler->step();
    }
    const TrainerState saved_state = TrainerState::load(checkpoint / "trainer_state.json");
    state_.global_step = saved_state.global_step;
    state_.epoch = saved_state.epoch;
    state_.log_history = saved_state.log_history;
    state_.total_flos = saved_state.total_flos;
    state_.num_input_tokens_seen = saved_state.num_input_tokens_seen;
    state_.best_metric = saved_state.best_metric;
    state_.best_model_checkpoint = saved_state.best_model_checkpoint;
    // HF: epochs_trained = global_step // num_update_steps_per_epoch, then skips
    // (global_step % num_update_steps_per_epoch) * gradient_accumulation_steps batches.
    DataPosition position{
        static_cast<std::size_t>(state_.global_step / plan.num_update_steps_per_epoch),
        static_cast<std::size_t>((state_.global_step % plan.num_update_steps_per_epoch) * ga)};
    if (fs::exists(checkpoint / "rng_state.json")) {
      const RngStates rng = load_rng_state(checkpoint / "rng_state.json");
      const auto it = rng.find("data_position");
      if (it != rng.end() && it->second.size() == 2) {
        position = {static_cast<std::size_t>(it->second[0]),
                    static_cast<std::size_t>(it->second[1])};
      }
    }
    run.position = position;
  }

  if (!args_.logging_dir.empty() && args_.logging_strategy != IntervalStrategy::kNo) {
    if (args_.reports_to("jsonl")) {
      fs::create_directories(args_.logging_dir);
      run.jsonl = std::make_unique<JsonlLogger>(fs::path(args_.logging_dir) / "log.jsonl");
    }
    if (args_.reports_to("tensorboard")) {
      run.tensorboard = std::make_unique<TensorBoardWriter>(args_.logging_dir);
    }
  }

  const std::int64_t non_embedding = non_embedding_parameters(model_.parameter_slices());
  const auto start = std::chrono::steady_clock::now();
  const auto H = static_cast<std::size_t>(model_.config().hidden_size);
  std::vector<float> train_features;  // cache_features: every train row's pooler output
  if (options_.cache_features) {
    train_features = pooled_features(model_, train_dataset_,
                                     static_cast<std::size_t>(args_.per_device_eval_batch_size),
                                     options_.padding, options_.progress && !args_.disable_tqdm);
  }
  ProgressBarOptions bar_options;
  bar_options.description = "Training";
  bar_options.total = plan.max_steps;
  bar_options.initial = state_.global_step;
  bar_options.enabled = options_.progress && !args_.disable_tqdm;
  ProgressBar bar(bar_options);
  bar.set(state_.global_step);

  model_.zero_grad();
  float tr_loss = 0.0f;            // HF's tr_loss tensor: float32 sum since the last log
  double total_loss_scalar = 0.0;  // HF's _total_loss_scalar
  std::int64_t last_logged = state_.global_step;
  float step_loss_sum = 0.0f;  // this optimizer step's losses (for on_step)
  std::optional<float> grad_norm;
  TrainerControl control;

  auto maybe_log_save_evaluate = [&] {
    if (control.should_log && state_.global_step > last_logged) {
      const LogEntry logs = training_log_entry(tr_loss, state_.global_step - last_logged, grad_norm,
                                               run.scheduler->get_last_lr());
      total_loss_scalar += static_cast<double>(tr_loss);
      tr_loss = 0.0f;
      last_logged = state_.global_step;
      log(logs);
      control.should_log = false;
    }
    if (control.should_evaluate) {
      if (eval_dataset_ != nullptr) evaluate();
      control.should_evaluate = false;
    }
    if (control.should_save) {
      state_.control = control;
      state_.control.should_save = false;
      save_checkpoint(run);
      control.should_save = false;
    }
  };

  // seek() moves a position past an epoch's last batch to the next epoch: start from there, so a
  // finished epoch does not end twice.
  loader.seek(run.position);
  for (auto epoch = static_cast<std::int64_t>(loader.position().epoch);
       epoch < plan.num_train_epochs; ++epoch) {
    control.should_epoch_stop = false;
    while (loader.position().epoch == static_cast<std::size_t>(epoch)) {
      Batch batch = loader.next();
      run.position = loader.position();
      const auto b = static_cast<std::int64_t>(batch.position.batch);
      model_.set_training(true,
                          dropout_seed(args_.seed, batch.position.epoch, batch.position.batch));
      // The one thing cache_features changes: the head runs on the cached pooler outputs.
      const float loss =
          options_.cache_features
              ? model_.train_step_forward_backward_pooled(
                    gather_rows(train_features, batch.indices, H),
                    static_cast<std::int64_t>(batch.B), batch_labels(batch))
              : model_.train_step_forward_backward(take_model_input(batch, /*with_labels=*/false),
                                                   batch_labels(batch));
      if (!std::isfinite(loss)) {
        model_.set_training(false);
        throw NonFiniteError("training loss is " + std::to_string(loss) + " at epoch " +
                             std::to_string(epoch) + ", batch " + std::to_string(b) +
                             " (global step " + std::to_string(state_.global_step) +
                             "); lower --learning-rate or check the data");
      }
      // training_step returns loss / gradient_accumulation_steps.
      const float scaled = ga > 1 ? loss / static_cast<float>(ga) : loss;
      tr_loss += scaled;
      step_loss_sum += scaled;
      state_.total_flos +=
          floating_point_ops(static_cast<std::int64_t>(batch.B * batch.S), non_embedding);
      const std::int64_t total_batched = epoch * steps_in_epoch + b + 1;
      if (!is_optimizer_step(total_batched, b, steps_in_epoch, ga)) continue;

      if (ga > 1) {
        const float inv = 1.0f / static_cast<float>(ga);
        for (float& g : grads) g *= inv;
      }
      if (args_.max_grad_norm > 0) {
        grad_norm = clip_grad_norm(grads, run.slices, args_.max_grad_norm);
      }
      TrainerStep seen;
      seen.loss = step_loss_sum;
      seen.grad_norm = grad_norm;
      seen.learning_rate = run.scheduler->get_last_lr();
      run.optimizer->set_lr(seen.learning_rate);
      run.optimizer->step(params, grads);
      run.scheduler->step();
      seen.learning_rate_after = run.scheduler->get_last_lr();
      model_.zero_grad();
      step_loss_sum = 0.0f;
      state_.global_step += 1;
      seen.global_step = state_.global_step;
      state_.epoch = epoch_after_batch(epoch, b, steps_in_epoch);
      bar.update(1);
      bar.set_postfix("loss=" + python_float_repr(python_round(seen.loss, 4)));
      if (options_.on_step) options_.on_step(seen);
      default_flow_on_step_end(args_, state_, control);
      maybe_log_save_evaluate();
      if (control.should_epoch_stop || control.should_training_stop) break;
    }
    default_flow_on_epoch_end(args_, state_, control);
    maybe_log_save_evaluate();
    if (control.should_training_stop) break;
  }
  bar.close();
  model_.set_training(false);

  total_loss_scalar += static_cast<double>(tr_loss);
  const double runtime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  TrainOutput out;
  out.global_step = state_.global_step;
  out.training_loss = total_loss_scalar / std::max<double>(state_.global_step, 0.001);
  LogEntry metrics =
      speed_metrics("train", runtime, plan.num_train_samples, static_cast<double>(plan.max_steps));
  metrics.emplace_back("total_flos", state_.total_flos);
  metrics.emplace_back("train_loss", out.training_loss);
  out.metrics = log(std::move(metrics));
  rotate_checkpoints(args_.output_dir, args_.save_total_limit, state_.best_model_checkpoint);
  if (options_.save_final_model) save_model();
  return out;
}

}  // namespace bertkit
