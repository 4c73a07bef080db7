// TrainingArguments: HF's __post_init__ checks and defaults, and the training_args.json file.
#include "bertkit/training_args.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bertkit/error.h"
#include "train/python_json.h"
#include "io/text_file.h"

namespace bertkit {

namespace {

constexpr std::array<std::pair<IntervalStrategy, std::string_view>, 3> kStrategies{{
    {IntervalStrategy::kNo, "no"},
    {IntervalStrategy::kSteps, "steps"},
    {IntervalStrategy::kEpoch, "epoch"},
}};

constexpr std::array<std::pair<SchedulerType, std::string_view>, 7> kSchedulers{{
    {SchedulerType::kLinear, "linear"},
    {SchedulerType::kCosine, "cosine"},
    {SchedulerType::kCosineWithRestarts, "cosine_with_restarts"},
    {SchedulerType::kPolynomial, "polynomial"},
    {SchedulerType::kConstant, "constant"},
    {SchedulerType::kConstantWithWarmup, "constant_with_warmup"},
    {SchedulerType::kInverseSqrt, "inverse_sqrt"},
}};

// The integrations report_to="all" stands for.
constexpr std::array<std::string_view, 2> kIntegrations{"tensorboard", "jsonl"};

template <class T>
std::string format_value(const T& value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

[[noreturn]] void invalid(std::string_view field, const std::string& why) {
  throw InvalidArgument("TrainingArguments." + std::string(field) + ": " + why);
}

// HF's floats that may be a ratio (< 1) or a step count (> 1, then an integer).
void check_interval(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0)
    invalid(field, "must be >= 0, got " + format_value(value));
  if (value > 1 && value != std::floor(value)) {
    invalid(field, "must be an integer if bigger than 1, got " + format_value(value));
  }
}

nlohmann::ordered_json interval_json(double value) {
  if (value >= 1 && value == std::floor(value) && value < 9e18) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

}  // namespace

IntervalStrategy parse_interval_strategy(std::string_view name) {
  for (const auto& [value, text] : kStrategies) {
    if (text == name) return value;
  }
  throw InvalidArgument("unknown interval strategy '" + std::string(name) +
                        "' (expected \"no\", \"steps\" or \"epoch\")");
}

std::string_view interval_strategy_name(IntervalStrategy strategy) {
  for (const auto& [value, text] : kStrategies) {
    if (value == strategy) return text;
  }
  return "no";
}

SchedulerType parse_scheduler_type(std::string_view name) {
  for (const auto& [value, text] : kSchedulers) {
    if (text == name) return value;
  }
  std::string known;
  for (const auto& [value, text] : kSchedulers)
    known += (known.empty() ? "" : ", ") + std::string(text);
  throw InvalidArgument("unknown lr_scheduler_type '" + std::string(name) +
                        "' (bertkit implements: " + known + ")");
}

std::string_view scheduler_type_name(SchedulerType type) {
  for (const auto& [value, text] : kSchedulers) {
    if (value == type) return text;
  }
  return "linear";
}

std::string default_logdir() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  // %b is locale dependent in strftime; Python's datetime uses the C locale's abbreviations.
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%s%02d_%02d-%02d-%02d", kMonths[local.tm_mon % 12],
                local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec);
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return (std::filesystem::path("runs") / (std::string(stamp) + "_" + host)).string();
}

void TrainingArguments::finalize() {
  if (output_dir.empty()) invalid("output_dir", "is required (the folder for checkpoints)");
  if (logging_dir.empty())
    logging_dir = (std::filesystem::path(output_dir) / default_logdir()).string();
  if (run_name.empty()) run_name = output_dir;
  if (eval_strategy != IntervalStrategy::kNo) do_eval = true;

  if (per_device_train_batch_size <= 0) {
    invalid("per_device_train_batch_size",
            "must be positive, got " + format_value(per_device_train_batch_size));
  }
  if (per_device_eval_batch_size <= 0) {
    invalid("per_device_eval_batch_size",
            "must be positive, got " + format_value(per_device_eval_batch_size));
  }
  if (gradient_accumulation_steps <= 0) {
    invalid("gradient_accumulation_steps",
            "must be >= 1, got " + format_value(gradient_accumulation_steps));
  }
  if (!std::isfinite(learning_rate) || learning_rate < 0) {
    invalid("learning_rate", "must be >= 0, got " + format_value(learning_rate));
  }
  if (!std::isfinite(weight_decay) || weight_decay < 0) {
    invalid("weight_decay", "must be >= 0, got " + format_value(weight_decay));
  }
  if (!(adam_beta1 >= 0 && adam_beta1 < 1)) {
    invalid("adam_beta1", "must lie in [0, 1), got " + format_value(adam_beta1));
  }
  if (!(adam_beta2 >= 0 && adam_beta2 < 1)) {
    invalid("adam_beta2", "must lie in [0, 1), got " + format_value(adam_beta2));
  }
  if (!std::isfinite(adam_epsilon) || adam_epsilon < 0) {
    invalid("adam_epsilon", "must be >= 0, got " + format_value(adam_epsilon));
  }
  if (std::isnan(max_grad_norm) || max_grad_norm < 0) {
    invalid("max_grad_norm",
            "must be >= 0 (0 disables clipping), got " + format_value(max_grad_norm));
  }
  if (!std::isfinite(num_train_epochs) || num_train_epochs < 0) {
    invalid("num_train_epochs", "must be >= 0, got " + format_value(num_train_epochs));
  }
  if (!(warmup_ratio >= 0 && warmup_ratio <= 1)) {
    invalid("warmup_ratio", "must lie in range [0,1], got " + format_value(warmup_ratio));
  }
  if (warmup_steps < 0) invalid("warmup_steps", "must be >= 0, got " + format_value(warmup_steps));
  if (!std::isfinite(eval_delay) || eval_delay < 0) {
    invalid("eval_delay", "must be >= 0, got " + format_value(eval_delay));
  }
  if (dataloader_num_workers < 0) {
    invalid("dataloader_num_workers", "must be >= 0, got " + format_value(dataloader_num_workers));
  }
  if (optim != "adamw_torch") {
    invalid("optim",
            "bertkit implements only \"adamw_torch\" (torch.optim.AdamW), got \"" + optim + "\"");
  }
  for (const auto& [key, value] : lr_scheduler_kwargs) {
    static constexpr std::array<std::string_view, 4> kKnown{"num_cycles", "lr_end", "power",
                                                            "timescale"};
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      invalid("lr_scheduler_kwargs",
              "unknown key '" + key + "' (known: num_cycles, lr_end, power, timescale)");
    }
    if (!std::isfinite(value)) invalid("lr_scheduler_kwargs", key + " must be finite");
  }

  if (eval_strategy == IntervalStrategy::kSteps && (!eval_steps || *eval_steps == 0)) {
    if (logging_steps > 0) {
      eval_steps = logging_steps;
    } else {
      invalid("eval_strategy",
              "evaluation strategy \"steps\" requires either non-zero eval_steps or logging_steps");
    }
  }
  if (logging_strategy == IntervalStrategy::kSteps && logging_steps == 0) {
    invalid("logging_steps", "logging strategy \"steps\" requires non-zero logging_steps");
  }
  check_interval("logging_steps", logging_steps);
  check_interval("save_steps", save_steps);
  if (eval_steps) check_interval("eval_steps", *eval_steps);

  if (load_best_model_at_end) {
    if (eval_strategy != save_strategy) {
      invalid("load_best_model_at_end",
              "requires the save and eval strategy to match, but found eval_strategy \"" +
                  std::string(interval_strategy_name(eval_strategy)) + "\" and save_strategy \"" +
                  std::string(interval_strategy_name(save_strategy)) + "\"");
    }
    if (eval_strategy == IntervalStrategy::kSteps && eval_steps && *eval_steps >= 1 &&
        save_steps >= 1 && std::fmod(save_steps, *eval_steps) != 0) {
      invalid("load_best_model_at_end", "requires save_steps (" + format_value(save_steps) +
                                            ") to be a round multiple of eval_steps (" +
                                            format_value(*eval_steps) + ")");
    }
    if (!metric_for_best_model) metric_for_best_model = "loss";
  }
  if (!greater_is_better && metric_for_best_model) {
    const std::string& m = *metric_for_best_model;
    greater_is_better = !(m.size() >= 4 && m.compare(m.size() - 4, 4, "loss") == 0);
  }

  std::vector<std::string> resolved;
  for (const auto& name : report_to) {
    if (name == "all") {
      for (auto integration : kIntegrations) resolved.emplace_back(integration);
    } else if (name == "none") {
      continue;
    } else if (std::find(kIntegrations.begin(), kIntegrations.end(), name) != kIntegrations.end()) {
      resolved.push_back(name);
    } else {
      invalid("report_to", "unknown integration \"" + name +
                               "\" (bertkit has \"tensorboard\" and \"jsonl\"; \"all\", \"none\")");
    }
  }
  std::vector<std::string> unique;
  for (const auto& name : resolved) {
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
  }
  report_to = unique;
}

bool TrainingArguments::reports_to(std::string_view integration) const {
  return std::find(report_to.begin(), report_to.end(), integration) != report_to.end();
}

std::int64_t TrainingArguments::get_warmup_steps(std::int64_t num_training_steps) const {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<std::int64_t>(
      std::ceil(static_cast<double>(num_training_steps) * warmup_ratio));
}

std::string TrainingArguments::to_json() const {
  using J = nlohmann::ordered_json;
  const auto opt = [](const auto& value) -> J {
    if (value) return J(*value);
    return J(nullptr);
  };
  J j;
  j["output_dir"] = output_dir;
  j["overwrite_output_dir"] = overwrite_output_dir;
  j["do_train"] = do_train;
  j["do_eval"] = do_eval;
  j["do_predict"] = do_predict;
  j["eval_strategy"] = interval_strategy_name(eval_strategy);
  j["prediction_loss_only"] = prediction_loss_only;
  j["per_device_train_batch_size"] = per_device_train_batch_size;
  j["per_device_eval_batch_size"] = per_device_eval_batch_size;
  j["gradient_accumulation_steps"] = gradient_accumulation_steps;
  j["eval_delay"] = eval_delay;
  j["learning_rate"] = learning_rate;
  j["weight_decay"] = weight_decay;
  j["adam_beta1"] = adam_beta1;
  j["adam_beta2"] = adam_beta2;
  j["adam_epsilon"] = adam_epsilon;
  j["max_grad_norm"] = max_grad_norm;
  j["num_train_epochs"] = num_train_epochs;
  j["max_steps"] = max_steps;
  j["lr_scheduler_type"] = scheduler_type_name(lr_scheduler_type);
  J kwargs = J::object();
  for (const auto& [key, value] : lr_scheduler_kwargs) kwargs[key] = value;
  j["lr_scheduler_kwargs"] = kwargs;
  j["warmup_ratio"] = warmup_ratio;
  j["warmup_steps"] = warmup_steps;
  j["logging_dir"] = logging_dir;
  j["logging_strategy"] = interval_strategy_name(logging_strategy);
  j["logging_first_step"] = logging_first_step;
  j["logging_steps"] = interval_json(logging_steps);
  j["logging_nan_inf_filter"] = logging_nan_inf_filter;
  j["save_strategy"] = interval_strategy_name(save_strategy);
  j["save_steps"] = interval_json(save_steps);
  j["save_total_limit"] = opt(save_total_limit);
  j["save_safetensors"] = save_safetensors;
  j["save_only_model"] = save_only_model;
  j["seed"] = seed;
  j["data_seed"] = opt(data_seed);
  j["dataloader_drop_last"] = dataloader_drop_last;
  j["eval_steps"] = eval_steps ? interval_json(*eval_steps) : J(nullptr);
  j["dataloader_num_workers"] = dataloader_num_workers;
  j["run_name"] = run_name;
  j["disable_tqdm"] = disable_tqdm;
  j["load_best_model_at_end"] = load_best_model_at_end;
  j["metric_for_best_model"] = opt(metric_for_best_model);
  j["greater_is_better"] = opt(greater_is_better);
  j["optim"] = optim;
  j["report_to"] = report_to;
  j["group_by_length"] = group_by_length;
  j["length_column_name"] = length_column_name;
  j["resume_from_checkpoint"] = opt(resume_from_checkpoint);
  j["include_num_input_tokens_seen"] = include_num_input_tokens_seen;
  j["eval_on_start"] = eval_on_start;
  return train::python_json_dumps(j, 2, false);
}

namespace {

[[noreturn]] void bad_type(const std::string& key, const char* wanted, const nlohmann::json& v) {
  throw FormatError("training_args.json: \"" + key + "\" must be " + wanted + ", got " + v.dump());
}

void read(const nlohmann::json& j, const std::string& key, bool& out) {
  if (!j.contains(key)) return;
  if (!j[key].is_boolean()) bad_type(key, "true or false", j[key]);
  out = j[key].get<bool>();
}
void read(const nlohmann::json& j, const std::string& key, double& out) {
  if (!j.contains(key)) return;
  if (!j[key].is_number()) bad_type(key, "a number", j[key]);
  out = j[key].get<double>();
}
void read(const nlohmann::json& j, const std::string& key, std::int64_t& out) {
  if (!j.contains(key)) return;
  const auto& v = j[key];
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
  } else if (v.is_number_float() && v.get<double>() == std::floor(v.get<double>()) &&
             std::fabs(v.get<double>()) < 9e18) {
    out = static_cast<std::int64_t>(v.get<double>());
  } else {
    bad_type(key, "an integer", v);
  }
}
void read(const nlohmann::json& j, const std::string& key, std::string& out) {
  if (!j.contains(key)) return;
  if (!j[key].is_string()) bad_type(key, "a string", j[key]);
  out = j[key].get<std::string>();
}
template <class T>
void read(const nlohmann::json& j, const std::string& key, std::optional<T>& out) {
  if (!j.contains(key)) return;
  if (j[key].is_null()) {
    out.reset();
    return;
  }
  T value{};
  read(j, key, value);
  out = value;
}
void read_strategy(const nlohmann::json& j, const std::string& key, IntervalStrategy& out) {
  std::string text;
  if (!j.contains(key)) return;
  read(j, key, text);
  try {
    out = parse_interval_strategy(text);
  } catch (const InvalidArgument& e) {
    throw FormatError("training_args.json: \"" + key + "\": " + e.what());
  }
}

}  // namespace

TrainingArguments TrainingArguments::from_json(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("training_args.json is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FormatError("training_args.json: the top level must be an object");
  TrainingArguments a;
  read(j, "output_dir", a.output_dir);
  read(j, "overwrite_output_dir", a.overwrite_output_dir);
  read(j, "do_train", a.do_train);
  read(j, "do_eval", a.do_eval);
  read(j, "do_predict", a.do_predict);
  read_strategy(j, "eval_strategy", a.eval_strategy);
  read(j, "prediction_loss_only", a.prediction_loss_only);
  read(j, "per_device_train_batch_size", a.per_device_train_batch_size);
  read(j, "per_device_eval_batch_size", a.per_device_eval_batch_size);
  read(j, "gradient_accumulation_steps", a.gradient_accumulation_steps);
  read(j, "eval_delay", a.eval_delay);
  read(j, "learning_rate", a.learning_rate);
  read(j, "weight_decay", a.weight_decay);
  read(j, "adam_beta1", a.adam_beta1);
  read(j, "adam_beta2", a.adam_beta2);
  read(j, "adam_epsilon", a.adam_epsilon);
  read(j, "max_grad_norm", a.max_grad_norm);
  read(j, "num_train_epochs", a.num_train_epochs);
  read(j, "max_steps", a.max_steps);
  if (j.contains("lr_scheduler_type")) {
    std::string name;
    read(j, "lr_scheduler_type", name);
    try {
      a.lr_scheduler_type = parse_scheduler_type(name);
    } catch (const InvalidArgument& e) {
      throw FormatError(std::string("training_args.json: ") + e.what());
    }
  }
  if (j.contains("lr_scheduler_kwargs") && !j["lr_scheduler_kwargs"].is_null()) {
    const auto& kw = j["lr_scheduler_kwargs"];
    if (!kw.is_object()) bad_type("lr_scheduler_kwargs", "an object", kw);
    for (auto it = kw.begin(); it != kw.end(); ++it) {
      if (!it.value().is_number())
        bad_type("lr_scheduler_kwargs." + it.key(), "a number", it.value());
      a.lr_scheduler_kwargs[it.key()] = it.value().get<double>();
    }
  }
  read(j, "warmup_ratio", a.warmup_ratio);
  read(j, "warmup_steps", a.warmup_steps);
  if (j.contains("logging_dir") && !j["logging_dir"].is_null())
    read(j, "logging_dir", a.logging_dir);
  read_strategy(j, "logging_strategy", a.logging_strategy);
  read(j, "logging_first_step", a.logging_first_step);
  read(j, "logging_steps", a.logging_steps);
  read(j, "logging_nan_inf_filter", a.logging_nan_inf_filter);
  read_strategy(j, "save_strategy", a.save_strategy);
  read(j, "save_steps", a.save_steps);
  read(j, "save_total_limit", a.save_total_limit);
  read(j, "save_safetensors", a.save_safetensors);
  read(j, "save_only_model", a.save_only_model);
  read(j, "seed", a.seed);
  read(j, "data_seed", a.data_seed);
  read(j, "dataloader_drop_last", a.dataloader_drop_last);
  read(j, "eval_steps", a.eval_steps);
  read(j, "dataloader_num_workers", a.dataloader_num_workers);
  if (j.contains("run_name") && !j["run_name"].is_null()) read(j, "run_name", a.run_name);
  if (j.contains("disable_tqdm") && !j["disable_tqdm"].is_null())
    read(j, "disable_tqdm", a.disable_tqdm);
  read(j, "load_best_model_at_end", a.load_best_model_at_end);
  read(j, "metric_for_best_model", a.metric_for_best_model);
  read(j, "greater_is_better", a.greater_is_better);
  read(j, "optim", a.optim);
  if (j.contains("report_to")) {
    const auto& r = j["report_to"];
    if (r.is_string()) {
      a.report_to = {r.get<std::string>()};
    } else if (r.is_null()) {
      a.report_to = {"all"};
    } else if (r.is_array()) {
      a.report_to.clear();
      for (const auto& item : r) {
        if (!item.is_string()) bad_type("report_to", "a list of strings", r);
        a.report_to.push_back(item.get<std::string>());
      }
    } else {
      bad_type("report_to", "a string or a list of strings", r);
    }
  }
  read(j, "group_by_length", a.group_by_length);
  read(j, "length_column_name", a.length_column_name);
  read(j, "resume_from_checkpoint", a.resume_from_checkpoint);
  read(j, "include_num_input_tokens_seen", a.include_num_input_tokens_seen);
  read(j, "eval_on_start", a.eval_on_start);
  a.finalize();
  return a;
}

void TrainingArguments::save(const std::filesystem::path& file) const {
  io::write_text_file_atomically(file, to_json());
}

TrainingArguments TrainingArguments::load(const std::filesystem::path& file) {
  return io::parse_text_file(file, [](const std::string& text) { return from_json(text); });
}

}  // namespace bertkit
