// The lr lambdas of transformers.optimization (4.44.2), evaluated in double exactly as the Python
// expressions are, so logged learning rates print identically.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "bertkit/error.h"
#include "bertkit/optimization.h"
#include "train/python_json.h"
#include "io/text_file.h"

namespace bertkit {

namespace {

double kwarg(const std::map<std::string, double>& kwargs, const char* key, double fallback) {
  auto it = kwargs.find(key);
  return it == kwargs.end() ? fallback : it->second;
}

double warmup_fraction(std::int64_t current_step, std::int64_t num_warmup_steps) {
  return static_cast<double>(current_step) /
         static_cast<double>(std::max<std::int64_t>(1, num_warmup_steps));
}

}  // namespace

LRScheduler::LRScheduler(SchedulerType type, double base_lr, std::int64_t num_warmup_steps,
                         std::int64_t num_training_steps,
                         const std::map<std::string, double>& kwargs)
    : type_(type),
      base_lr_(base_lr),
      num_warmup_steps_(num_warmup_steps),
      num_training_steps_(num_training_steps),
      kwargs_(kwargs) {
  if (!std::isfinite(base_lr) || base_lr < 0) {
    throw InvalidArgument("LRScheduler: base learning rate must be >= 0, got " +
                          std::to_string(base_lr));
  }
  if (num_warmup_steps < 0) {
    throw InvalidArgument("LRScheduler: num_warmup_steps must be >= 0, got " +
                          std::to_string(num_warmup_steps));
  }
  if (num_training_steps < 0) {
    throw InvalidArgument("LRScheduler: num_training_steps must be >= 0, got " +
                          std::to_string(num_training_steps));
  }
  num_cycles_ = kwarg(kwargs, "num_cycles", type == SchedulerType::kCosineWithRestarts ? 1.0 : 0.5);
  lr_end_ = kwarg(kwargs, "lr_end", 1e-7);
  power_ = kwarg(kwargs, "power", 1.0);
  // inverse_sqrt: `timescale = num_warmup_steps or 10_000`.
  timescale_ = static_cast<std::int64_t>(kwarg(
      kwargs, "timescale", num_warmup_steps > 0 ? static_cast<double>(num_warmup_steps) : 10000.0));
  if (type == SchedulerType::kPolynomial && !(base_lr > lr_end_)) {
    throw InvalidArgument("LRScheduler: polynomial schedule needs lr_end (" +
                          std::to_string(lr_end_) + ") smaller than the initial lr (" +
                          std::to_string(base_lr) + ")");
  }
  if (type == SchedulerType::kInverseSqrt && timescale_ <= 0) {
    throw InvalidArgument("LRScheduler: inverse_sqrt timescale must be positive");
  }
}

LRScheduler LRScheduler::for_training(const TrainingArguments& args,
                                      std::int64_t num_training_steps) {
  return LRScheduler(args.lr_scheduler_type, args.learning_rate,
                     args.get_warmup_steps(num_training_steps), num_training_steps,
                     args.lr_scheduler_kwargs);
}

double LRScheduler::lr_lambda(std::int64_t current_step) const {
  const std::int64_t warmup = num_warmup_steps_;
  const std::int64_t total = num_training_steps_;
  switch (type_) {
    case SchedulerType::kConstant:
      return 1.0;
    case SchedulerType::kConstantWithWarmup:
      if (current_step < warmup) return warmup_fraction(current_step, warmup);
      return 1.0;
    case SchedulerType::kLinear:
      if (current_step < warmup) return warmup_fraction(current_step, warmup);
      return std::max(0.0, static_cast<double>(total - current_step) /
                               static_cast<double>(std::max<std::int64_t>(1, total - warmup)));
    case SchedulerType::kCosine: {
      if (current_step < warmup) return warmup_fraction(current_step, warmup);
      const double progress = static_cast<double>(current_step - warmup) /
                              static_cast<double>(std::max<std::int64_t>(1, total - warmup));
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles_ * 2.0 * progress)));
    }
    case SchedulerType::kCosineWithRestarts: {
      if (current_step < warmup) return warmup_fraction(current_step, warmup);
      const double progress = static_cast<double>(current_step - warmup) /
                              static_cast<double>(std::max<std::int64_t>(1, total - warmup));
      if (progress >= 1.0) return 0.0;
      // Python's float % 1.0 for a non-negative value is fmod.
      return std::max(
          0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * std::fmod(num_cycles_ * progress, 1.0))));
    }
    case SchedulerType::kPolynomial: {
      if (current_step < warmup) return warmup_fraction(current_step, warmup);
      const double lr_init = base_lr_;
      if (current_step > total) return lr_end_ / lr_init;
      const double lr_range = lr_init - lr_end_;
      const double decay_steps = static_cast<double>(total - warmup);
      const double pct_remaining = 1.0 - static_cast<double>(current_step - warmup) / decay_steps;
      const double decay = lr_range * std::pow(pct_remaining, power_) + lr_end_;
      return decay / lr_init;
    }
    case SchedulerType::kInverseSqrt: {
      if (current_step < warmup) return warmup_fraction(current_step, warmup);
      const std::int64_t shift = timescale_ - warmup;
      return 1.0 /
             std::sqrt(static_cast<double>(current_step + shift) / static_cast<double>(timescale_));
    }
  }
  return 1.0;
}

std::string LRScheduler::to_json() const {
  nlohmann::ordered_json j;
  j["lr_scheduler_type"] = scheduler_type_name(type_);
  j["num_warmup_steps"] = num_warmup_steps_;
  j["num_training_steps"] = num_training_steps_;
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  for (const auto& [key, value] : kwargs_) kwargs[key] = value;
  j["scheduler_specific_kwargs"] = kwargs;
  j["base_lrs"] = {base_lr_};
  j["last_epoch"] = last_epoch_;
  j["_step_count"] = last_epoch_ + 1;
  j["_last_lr"] = {get_last_lr()};
  return train::python_json_dumps(j, 2, false) + "\n";
}

LRScheduler LRScheduler::from_json(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
    const auto type = parse_scheduler_type(j.at("lr_scheduler_type").get<std::string>());
    std::map<std::string, double> kwargs;
    if (j.contains("scheduler_specific_kwargs")) {
      for (auto it = j["scheduler_specific_kwargs"].begin();
           it != j["scheduler_specific_kwargs"].end(); ++it) {
        kwargs[it.key()] = it.value().get<double>();
      }
    }
    const auto& base_lrs = j.at("base_lrs");
    if (!base_lrs.is_array() || base_lrs.empty())
      throw FormatError("base_lrs must be a non-empty list");
    LRScheduler scheduler(type, base_lrs[0].get<double>(),
                          j.at("num_warmup_steps").get<std::int64_t>(),
                          j.at("num_training_steps").get<std::int64_t>(), kwargs);
    scheduler.last_epoch_ = j.at("last_epoch").get<std::int64_t>();
    if (scheduler.last_epoch_ < 0) throw FormatError("last_epoch must be >= 0");
    return scheduler;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("scheduler.json: ") + e.what());
  } catch (const InvalidArgument& e) {
    throw FormatError(std::string("scheduler.json: ") + e.what());
  } catch (const FormatError& e) {
    throw FormatError(std::string("scheduler.json: ") + e.what());
  }
}

void LRScheduler::save(const std::filesystem::path& file) const {
  io::write_text_file_atomically(file, to_json());
}

LRScheduler LRScheduler::load(const std::filesystem::path& file) {
  return io::parse_text_file(file, [](const std::string& text) { return from_json(text); });
}

}  // namespace bertkit
