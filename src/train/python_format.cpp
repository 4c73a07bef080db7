// Python's float repr, round() and dict repr, so that printed logs match HF's byte for byte.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bertkit/error.h"
#include "bertkit/training_logs.h"

namespace bertkit {

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // to_chars gives the shortest round-trip digits (as Python's dtoa mode 0 does); only the
  // layout differs, so the digits and the exponent are taken apart and laid out as Python does.
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string text(buf, result.ptr);
  std::string sign;
  if (text[0] == '-') {
    sign = "-";
    text.erase(0, 1);
  }
  const auto e_pos = text.find('e');
  std::string digits = text.substr(0, e_pos);
  const int exponent = std::stoi(text.substr(e_pos + 1));
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  // Python's decpt: the value is 0.<digits> * 10^decpt.
  const int decpt = exponent + 1;
  const int ndigits = static_cast<int>(digits.size());
  std::string out = sign;
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (ndigits > 1) out += "." + digits.substr(1);
    const int e = decpt - 1;
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", e < 0 ? '-' : '+', std::abs(e));
    out += exp_buf;
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
  } else if (decpt >= ndigits) {
    out += digits + std::string(static_cast<std::size_t>(decpt - ndigits), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<std::size_t>(decpt)) + "." +
           digits.substr(static_cast<std::size_t>(decpt));
  }
  return out;
}

double python_round(double value, int ndigits) {
  if (ndigits < 0 || ndigits > 300) throw InvalidArgument("python_round: ndigits must be 0..300");
  if (!std::isfinite(value)) return value;
  // Python rounds via the exact decimal expansion (dtoa mode 3) and reads the string back;
  // glibc's printf is also exact and rounds ties to even, so the two agree.
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%.*f", ndigits, value);
  return std::strtod(buf, nullptr);
}

namespace {

std::string python_str_repr(const std::string& text) {
  // Python prefers single quotes unless the text holds a single quote and no double quote.
  const bool has_single = text.find('\'') != std::string::npos;
  const bool has_double = text.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : text) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);  // printable non-ASCII stays as UTF-8, as Python 3 prints it
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string python_repr(const LogValue& value) {
  if (const double* d = std::get_if<double>(&value)) return python_float_repr(*d);
  if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  return python_str_repr(std::get<std::string>(value));
}

std::string python_repr(const LogEntry& entry) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : entry) {
    if (!first) out += ", ";
    first = false;
    out += python_str_repr(key) + ": " + python_repr(value);
  }
  return out + "}";
}

std::string format_log_line(const LogEntry& logs) {
  LogEntry shown;
  for (const auto& [key, value] : logs) {
    if (key == "total_flos") continue;
    if (key == "epoch" && std::holds_alternative<double>(value)) {
      shown.emplace_back(key, python_round(std::get<double>(value), 2));
    } else {
      shown.emplace_back(key, value);
    }
  }
  return python_repr(shown);
}

LogEntry training_log_entry(float loss_sum, std::int64_t steps_since_last_log,
                            std::optional<float> grad_norm, double learning_rate) {
  if (steps_since_last_log <= 0) {
    throw InvalidArgument("training_log_entry: steps_since_last_log must be positive, got " +
                          std::to_string(steps_since_last_log));
  }
  LogEntry logs;
  const double mean = static_cast<double>(loss_sum) / static_cast<double>(steps_since_last_log);
  logs.emplace_back("loss", python_round(mean, 4));
  if (grad_norm) logs.emplace_back("grad_norm", python_float_of(*grad_norm));
  logs.emplace_back("learning_rate", learning_rate);
  return logs;
}

LogEntry speed_metrics(std::string_view split, double runtime_seconds,
                       std::optional<double> num_samples, std::optional<double> num_steps) {
  const std::string prefix(split);
  LogEntry result;
  result.emplace_back(prefix + "_runtime", python_round(runtime_seconds, 4));
  if (runtime_seconds == 0) return result;
  if (num_samples) {
    result.emplace_back(prefix + "_samples_per_second",
                        python_round(*num_samples / runtime_seconds, 3));
  }
  if (num_steps) {
    result.emplace_back(prefix + "_steps_per_second",
                        python_round(*num_steps / runtime_seconds, 3));
  }
  return result;
}

std::string tensorboard_tag(std::string_view key) {
  for (std::string_view prefix : {"eval_", "test_"}) {
    if (key.substr(0, prefix.size()) == prefix) {
      return std::string(prefix.substr(0, prefix.size() - 1)) + "/" +
             std::string(key.substr(prefix.size()));
    }
  }
  return "train/" + std::string(key);
}

}  // namespace bertkit
