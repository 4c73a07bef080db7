// A tqdm-like progress bar on stderr, shared by downloads (bytes, MB/s) and training loops
// (steps, it/s, a loss postfix). On a terminal it redraws one line in place, at most ten times a
// second; when stderr is a pipe or a file it prints a plain line every `plain_interval_s` seconds
// and one on close(), so a log shows progress without being flooded with carriage returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace bertkit {

enum class ProgressUnit {
  kItems,  // "450/1000 [00:12<00:15, 36.50it/s]"
  kBytes,  // "12.3M/27.0M [00:02<00:03, 5.12MB/s]"
};

struct ProgressBarOptions {
  std::string description;  // printed first, e.g. the file name or "Training"
  int64_t total = 0;        // 0 or less: unknown, no percentage or ETA
  int64_t initial = 0;      // already done (a resumed download); excluded from the rate
  ProgressUnit unit = ProgressUnit::kItems;
  std::FILE* stream = stderr;
  bool enabled = true;  // false: print nothing at all
  int bar_width = 20;   // cells of the bar itself
  // Off a terminal: seconds between plain progress lines (0 or less: only the line on close).
  double plain_interval_s = 30.0;
};

// What one rendering of the bar needs; pure data so the formatting is testable.
struct ProgressSnapshot {
  std::string description;
  std::string postfix;
  int64_t n = 0;
  int64_t total = 0;
  int64_t initial = 0;
  double elapsed_s = 0.0;
  ProgressUnit unit = ProgressUnit::kItems;
  int bar_width = 20;
};

// "desc:  45%|█████████           | 450/1000 [00:12<00:15, 36.50it/s, loss=0.41]"
std::string format_progress(const ProgressSnapshot& s);
// "01:05", or "1:01:05" past an hour; "?" for a negative or non-finite value.
std::string format_duration(double seconds);
// 1536 -> "1.50k", 27000000 -> "27.0M" (decimal prefixes, as tqdm's unit_scale).
std::string format_si(double value);

class ProgressBar {
 public:
  explicit ProgressBar(ProgressBarOptions options);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(int64_t delta);
  void set(int64_t n);
  void set_total(int64_t total);
  // Extra text after the rate, e.g. "loss=0.4132, lr=4.9e-05".
  void set_postfix(std::string postfix);
  // Final draw (the last plain line when not a terminal); called by the destructor if needed.
  void close();

  int64_t n() const { return n_; }
  ProgressSnapshot snapshot() const;

 private:
  void draw(bool final);

  ProgressBarOptions options_;
  std::string postfix_;
  int64_t n_ = 0;
  bool tty_ = false;
  bool closed_ = false;
  size_t last_width_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace bertkit
