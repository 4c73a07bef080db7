// A JSON Lines training log: one json.dumps({...logs, "step": N}) per line, as log_history holds
// it.
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "bertkit/error.h"
#include "bertkit/training_logs.h"
#include "train/python_json.h"

namespace bertkit {

JsonlLogger::JsonlLogger(const std::filesystem::path& file) : file_(file) {
  if (file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
  }
  out_ = std::fopen(file.c_str(), "ab");
  if (out_ == nullptr)
    throw IoError("cannot open log file " + file.string() + ": " + std::strerror(errno));
}

JsonlLogger::~JsonlLogger() {
  if (out_ != nullptr) std::fclose(out_);
}

void JsonlLogger::log(const LogEntry& entry, std::int64_t step) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [key, value] : entry) {
    std::visit([&j, &name = key](const auto& v) { j[name] = v; }, value);
  }
  j["step"] = step;
  const std::string line = train::python_json_dumps(j, -1, false) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
    throw IoError("cannot write to " + file_.string() + ": " + std::strerror(errno));
  }
}

}  // namespace bertkit
