// TrainerState and trainer_state.json (transformers 4.44.2 trainer_callback.py).
#include "bertkit/trainer_state.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "bertkit/error.h"
#include "train/python_json.h"
#include "io/text_file.h"

namespace bertkit {

namespace {

using Json = nlohmann::ordered_json;

Json control_json(const TrainerControl& c) {
  Json args;
  args["should_training_stop"] = c.should_training_stop;
  args["should_epoch_stop"] = c.should_epoch_stop;
  args["should_save"] = c.should_save;
  args["should_evaluate"] = c.should_evaluate;
  args["should_log"] = c.should_log;
  Json state;
  state["args"] = args;
  state["attributes"] = Json::object();
  return state;
}

template <class T>
Json optional_json(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

// Python's json writes NaN, Infinity and -Infinity (a grad_norm can be inf); JSON parsers refuse
// them, so outside strings they become marker strings that number() turns back into doubles.
constexpr std::string_view kNonFinite[] = {"-Infinity", "Infinity", "NaN"};
// In the JSON text a marker is "\u0000bertkit:<token>"; parsed, it starts with a NUL character,
// which no real value in trainer_state.json has.
constexpr std::string_view kMarkerJson = "\\u0000bertkit:";
const std::string kMarkerParsed("\0bertkit:", 9);

std::string quote_non_finite(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (std::string_view token : kNonFinite) {
      if (text.substr(i, token.size()) == token) {
        out += '"';
        out += kMarkerJson;
        out += token;
        out += '"';
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

// A number, or a marker string from quote_non_finite; nullopt for anything else.
std::optional<double> number(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string& text = v.get_ref<const std::string&>();
  if (text.rfind(kMarkerParsed, 0) != 0) return std::nullopt;
  const std::string token = text.substr(kMarkerParsed.size());
  if (token == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (token == "Infinity") return std::numeric_limits<double>::infinity();
  if (token == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

LogEntry entry_from_json(const Json& object) {
  if (!object.is_object()) throw FormatError("log_history entries must be objects");
  LogEntry entry;
  for (auto it = object.begin(); it != object.end(); ++it) {
    const Json& v = it.value();
    if (v.is_number_integer()) {
      entry.emplace_back(it.key(), v.get<std::int64_t>());
    } else if (auto d = number(v)) {
      entry.emplace_back(it.key(), *d);
    } else if (v.is_string()) {
      entry.emplace_back(it.key(), v.get<std::string>());
    } else {
      throw FormatError("log_history value \"" + it.key() + "\" must be a number or a string");
    }
  }
  return entry;
}

}  // namespace

TrainerState TrainerState::for_training(const TrainingArguments& args, const TrainingPlan& plan) {
  TrainerState state;
  state.epoch = 0.0;
  state.max_steps = plan.max_steps;
  state.logging_steps = plan.logging_steps;
  state.eval_steps = plan.eval_steps;
  state.save_steps = plan.save_steps;
  state.train_batch_size = args.per_device_train_batch_size;
  state.num_train_epochs = plan.num_train_epochs;
  return state;
}

LogEntry TrainerState::log(LogEntry logs) {
  if (epoch) {
    bool replaced = false;
    for (auto& [key, value] : logs) {
      if (key == "epoch") {
        value = *epoch;
        replaced = true;
      }
    }
    if (!replaced) logs.emplace_back("epoch", *epoch);
  }
  LogEntry output = logs;
  output.emplace_back("step", global_step);
  log_history.push_back(std::move(output));
  return logs;
}

std::string TrainerState::to_json() const {
  Json j;
  j["epoch"] = optional_json(epoch);
  j["global_step"] = global_step;
  j["max_steps"] = max_steps;
  j["logging_steps"] = logging_steps;
  j["eval_steps"] = eval_steps;
  j["save_steps"] = save_steps;
  j["train_batch_size"] = optional_json(train_batch_size);
  j["num_train_epochs"] = num_train_epochs;
  j["num_input_tokens_seen"] = num_input_tokens_seen;
  j["total_flos"] = total_flos;
  Json history = Json::array();
  for (const auto& entry : log_history) {
    Json item = Json::object();
    for (const auto& [key, value] : entry) {
      std::visit([&item, &name = key](const auto& v) { item[name] = v; }, value);
    }
    history.push_back(item);
  }
  j["log_history"] = history;
  j["best_metric"] = optional_json(best_metric);
  j["best_model_checkpoint"] = optional_json(best_model_checkpoint);
  j["is_local_process_zero"] = is_local_process_zero;
  j["is_world_process_zero"] = is_world_process_zero;
  j["is_hyper_param_search"] = is_hyper_param_search;
  j["trial_name"] = optional_json(trial_name);
  j["trial_params"] = nullptr;
  Json callbacks;
  callbacks["TrainerControl"] = control_json(control);
  j["stateful_callbacks"] = callbacks;
  return train::python_json_dumps(j, 2, true) + "\n";
}

TrainerState TrainerState::from_json(std::string_view text) {
  TrainerState s;
  try {
    const Json j = Json::parse(quote_non_finite(text));
    if (!j.is_object()) throw FormatError("the top level must be an object");
    const auto get_int = [&](const char* key, std::int64_t& out) {
      if (j.contains(key) && !j[key].is_null()) out = j[key].get<std::int64_t>();
    };
    if (j.contains("epoch") && !j["epoch"].is_null()) s.epoch = j["epoch"].get<double>();
    get_int("global_step", s.global_step);
    get_int("max_steps", s.max_steps);
    get_int("logging_steps", s.logging_steps);
    get_int("eval_steps", s.eval_steps);
    get_int("save_steps", s.save_steps);
    if (j.contains("train_batch_size") && !j["train_batch_size"].is_null()) {
      s.train_batch_size = j["train_batch_size"].get<std::int64_t>();
    }
    get_int("num_train_epochs", s.num_train_epochs);
    get_int("num_input_tokens_seen", s.num_input_tokens_seen);
    if (j.contains("total_flos") && !j["total_flos"].is_null())
      s.total_flos = j["total_flos"].get<double>();
    if (j.contains("log_history") && !j["log_history"].is_null()) {
      for (const auto& item : j["log_history"]) s.log_history.push_back(entry_from_json(item));
    }
    if (j.contains("best_metric") && !j["best_metric"].is_null()) {
      s.best_metric = number(j["best_metric"]);
      if (!s.best_metric) throw FormatError("best_metric must be a number");
    }
    if (j.contains("best_model_checkpoint") && !j["best_model_checkpoint"].is_null()) {
      s.best_model_checkpoint = j["best_model_checkpoint"].get<std::string>();
    }
    if (j.contains("is_local_process_zero"))
      s.is_local_process_zero = j["is_local_process_zero"].get<bool>();
    if (j.contains("is_world_process_zero"))
      s.is_world_process_zero = j["is_world_process_zero"].get<bool>();
    if (j.contains("is_hyper_param_search"))
      s.is_hyper_param_search = j["is_hyper_param_search"].get<bool>();
    if (j.contains("trial_name") && !j["trial_name"].is_null())
      s.trial_name = j["trial_name"].get<std::string>();
    if (j.contains("stateful_callbacks") && j["stateful_callbacks"].contains("TrainerControl")) {
      const auto& args = j["stateful_callbacks"]["TrainerControl"].at("args");
      s.control.should_training_stop = args.value("should_training_stop", false);
      s.control.should_epoch_stop = args.value("should_epoch_stop", false);
      s.control.should_save = args.value("should_save", false);
      s.control.should_evaluate = args.value("should_evaluate", false);
      s.control.should_log = args.value("should_log", false);
    }
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("trainer_state.json: ") + e.what());
  } catch (const FormatError& e) {
    throw FormatError(std::string("trainer_state.json: ") + e.what());
  }
  return s;
}

void TrainerState::save(const std::filesystem::path& file) const {
  io::write_text_file_atomically(file, to_json());
}

TrainerState TrainerState::load(const std::filesystem::path& file) {
  return io::parse_text_file(file, [](const std::string& text) { return from_json(text); });
}

void default_flow_on_step_end(const TrainingArguments& args, const TrainerState& state,
                              TrainerControl& control) {
  if (state.global_step == 1 && args.logging_first_step) control.should_log = true;
  if (args.logging_strategy == IntervalStrategy::kSteps && state.logging_steps > 0 &&
      state.global_step % state.logging_steps == 0) {
    control.should_log = true;
  }
  if (args.eval_strategy == IntervalStrategy::kSteps && state.eval_steps > 0 &&
      state.global_step % state.eval_steps == 0 &&
      args.eval_delay <= static_cast<double>(state.global_step)) {
    control.should_evaluate = true;
  }
  if (args.save_strategy == IntervalStrategy::kSteps && state.save_steps > 0 &&
      state.global_step % state.save_steps == 0) {
    control.should_save = true;
  }
  if (state.global_step >= state.max_steps) {
    control.should_training_stop = true;
    if (args.save_strategy != IntervalStrategy::kNo) control.should_save = true;
  }
}

void default_flow_on_epoch_end(const TrainingArguments& args, const TrainerState& state,
                               TrainerControl& control) {
  if (args.logging_strategy == IntervalStrategy::kEpoch) control.should_log = true;
  if (args.eval_strategy == IntervalStrategy::kEpoch &&
      args.eval_delay <= state.epoch.value_or(0.0)) {
    control.should_evaluate = true;
  }
  if (args.save_strategy == IntervalStrategy::kEpoch) control.should_save = true;
}

double floating_point_ops(std::int64_t num_input_tokens,
                          std::int64_t num_non_embedding_parameters) {
  // Python multiplies exact integers and converts once; do the same while int64 suffices.
  std::int64_t product = 0;
  if (!__builtin_mul_overflow(num_input_tokens, num_non_embedding_parameters, &product) &&
      !__builtin_mul_overflow(product, std::int64_t{6}, &product)) {
    return static_cast<double>(product);
  }
  return 6.0 * static_cast<double>(num_input_tokens) *
         static_cast<double>(num_non_embedding_parameters);
}

}  // namespace bertkit
