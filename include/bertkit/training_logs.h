// What a training run reports, in the forms HF users know: the Python dict line Trainer prints
// ({'loss': 0.5396, 'grad_norm': 57.49171447753906, 'learning_rate': 5e-05, 'epoch': 0.08}),
// a JSON Lines log, and TensorBoard event files (what TensorBoardCallback writes).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bertkit {

// Python's repr(float): the shortest string that reads back to the same double, with Python's
// layout (0.0001, 1e-05, 1234.5, 1e+16, 3.0, inf, nan, -0.0).
std::string python_float_repr(double value);
// Python's round(x, ndigits) for floats: correctly rounded to the nearest decimal, ties to even.
double python_round(double value, int ndigits);
// A float32 seen from Python (tensor.item()): the exact float widened to double.
inline double python_float_of(float value) { return static_cast<double>(value); }

// One value of a log dict: a Python float, int or str.
using LogValue = std::variant<double, std::int64_t, std::string>;
// A log dict in insertion order (Python dicts keep it).
using LogEntry = std::vector<std::pair<std::string, LogValue>>;

std::string python_repr(const LogValue& value);
std::string python_repr(const LogEntry& entry);  // {'loss': 0.5396, 'epoch': 0.08}
// The line ProgressCallback.on_log prints: total_flos dropped, epoch rounded to 2 digits.
std::string format_log_line(const LogEntry& logs);

// The dict Trainer logs every logging_steps: loss = round(tr_loss / steps_since_last_log, 4),
// grad_norm (the float32 pre-clip norm, absent when none), learning_rate (scheduler's last lr).
// `loss_sum` is tr_loss, the float32 running sum of the step losses since the last log.
LogEntry training_log_entry(float loss_sum, std::int64_t steps_since_last_log,
                            std::optional<float> grad_norm, double learning_rate);

// transformers.trainer_utils.speed_metrics: {split}_runtime (rounded to 4 digits),
// {split}_samples_per_second and {split}_steps_per_second (3 digits) when given.
LogEntry speed_metrics(std::string_view split, double runtime_seconds,
                       std::optional<double> num_samples = std::nullopt,
                       std::optional<double> num_steps = std::nullopt);

// TensorBoardCallback's rewrite_logs: eval_x -> eval/x, test_x -> test/x, others -> train/x.
std::string tensorboard_tag(std::string_view key);

// Appends one JSON object per log call ({...entry, "step": N}) to a file, flushed per line.
class JsonlLogger {
 public:
  explicit JsonlLogger(const std::filesystem::path& file);  // IoError if it cannot be opened
  JsonlLogger(const JsonlLogger&) = delete;
  JsonlLogger& operator=(const JsonlLogger&) = delete;
  ~JsonlLogger();
  void log(const LogEntry& entry, std::int64_t step);

 private:
  std::filesystem::path file_;
  std::FILE* out_ = nullptr;
};

// A TensorBoard event file (TFRecord framing, hand-encoded Event protos) as torch's
// SummaryWriter writes it: events.out.tfevents.<unix time>.<host>.<pid>.0 in `logdir`.
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::filesystem::path& logdir);  // creates logdir
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  ~TensorBoardWriter();

  void add_scalar(std::string_view tag, float value, std::int64_t step, double wall_time = -1);
  // What TensorBoardCallback.on_log does: every numeric value under tensorboard_tag(key).
  void log(const LogEntry& entry, std::int64_t step);
  void flush();
  const std::filesystem::path& path() const { return file_; }

 private:
  void write_record(const std::string& data);
  std::filesystem::path file_;
  std::FILE* out_ = nullptr;
};

// The Event protobuf bytes of one record (exposed for tests).
std::string encode_event_file_version(double wall_time);
std::string encode_event_scalar(double wall_time, std::int64_t step, std::string_view tag,
                                float value);
// TFRecord framing of one record: len (u64 LE), masked crc32c(len), data, masked crc32c(data).
std::string tfrecord_frame(std::string_view data);
std::uint32_t crc32c(std::string_view data);
std::uint32_t masked_crc32c(std::string_view data);

}  // namespace bertkit
