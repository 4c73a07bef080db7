#include "core/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace bertkit {

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

// Eighths of a cell, as tqdm draws them, so slow progress still moves the bar.
constexpr const char* kPartialBlocks[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
constexpr const char* kFullBlock = "█";

std::string printf_string(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string make_bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int eighths = static_cast<int>(fraction * width * 8);
  const int full = eighths / 8;
  std::string bar;
  for (int i = 0; i < full; ++i) bar += kFullBlock;
  int cells = full;
  if (full < width) {
    bar += kPartialBlocks[eighths % 8];
    if (eighths % 8 != 0) ++cells;
  }
  bar.append(static_cast<size_t>(std::max(0, width - cells)), ' ');
  return bar;
}

std::string format_count(int64_t n, ProgressUnit unit) {
  if (unit == ProgressUnit::kBytes) return format_si(static_cast<double>(n));
  return std::to_string(n);
}

std::string format_rate(double rate, ProgressUnit unit) {
  const char* suffix = unit == ProgressUnit::kBytes ? "B/s" : "it/s";
  if (!(rate > 0.0) || !std::isfinite(rate)) return std::string("?") + suffix;
  if (unit == ProgressUnit::kBytes) return format_si(rate) + suffix;
  // Slow loops (a training step per several seconds) read better as s/it, like tqdm.
  if (rate < 1.0) return printf_string("%.2f", 1.0 / rate) + "s/it";
  return printf_string("%.2f", rate) + suffix;
}

// Terminal columns taken by a UTF-8 string: one per code point (the bar blocks are narrow).
size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

}  // namespace

std::string format_si(double value) {
  static const char* const kPrefixes[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
  for (const char* prefix : kPrefixes) {
    if (std::fabs(value) < 999.5) {
      if (std::fabs(value) < 99.95) {
        if (std::fabs(value) < 9.995) return printf_string("%1.2f", value) + prefix;
        return printf_string("%2.1f", value) + prefix;
      }
      return printf_string("%3.0f", value) + prefix;
    }
    value /= 1000.0;
  }
  return printf_string("%3.1f", value) + "Y";
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(seconds);
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buffer[48];
  if (h > 0) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  } else {
    std::snprintf(buffer, sizeof buffer, "%02lld:%02lld", static_cast<long long>(m),
                  static_cast<long long>(s));
  }
  return buffer;
}

std::string format_progress(const ProgressSnapshot& s) {
  // The rate counts only this session's work, so a resumed download is not credited with
  // bytes it fetched in an earlier run.
  const double done_here = static_cast<double>(s.n - s.initial);
  const double rate = s.elapsed_s > 0.0 ? done_here / s.elapsed_s : 0.0;
  std::string postfix = s.postfix.empty() ? "" : ", " + s.postfix;
  std::string line = s.description.empty() ? "" : s.description + ": ";
  if (s.total > 0) {
    const double fraction = static_cast<double>(s.n) / static_cast<double>(s.total);
    const double remaining = rate > 0.0 ? static_cast<double>(s.total - s.n) / rate : -1.0;
    line += printf_string("%3.0f", std::clamp(fraction, 0.0, 1.0) * 100.0) + "%|" +
            make_bar(fraction, s.bar_width) + "| " + format_count(s.n, s.unit) + "/" +
            format_count(s.total, s.unit) + " [" + format_duration(s.elapsed_s) + "<" +
            format_duration(remaining) + ", " + format_rate(rate, s.unit) + postfix + "]";
  } else {
    line += format_count(s.n, s.unit) + " [" + format_duration(s.elapsed_s) + ", " +
            format_rate(rate, s.unit) + postfix + "]";
  }
  return line;
}

ProgressBar::ProgressBar(ProgressBarOptions options)
    : options_(std::move(options)),
      n_(options_.initial),
      tty_(options_.stream != nullptr && ::isatty(::fileno(options_.stream)) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (options_.stream == nullptr) options_.enabled = false;
  if (options_.enabled && tty_) draw(false);
}

ProgressBar::~ProgressBar() { close(); }

void ProgressBar::update(int64_t delta) { set(n_ + delta); }

void ProgressBar::set(int64_t n) {
  n_ = n;
  if (!options_.enabled || closed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ >= kRedrawInterval) draw(false);
  } else if (options_.plain_interval_s > 0 &&
             std::chrono::duration<double>(now - last_draw_).count() >= options_.plain_interval_s) {
    draw(false);
  }
}

void ProgressBar::set_total(int64_t total) { options_.total = total; }

void ProgressBar::set_postfix(std::string postfix) { postfix_ = std::move(postfix); }

void ProgressBar::close() {
  if (closed_) return;
  closed_ = true;
  if (options_.enabled) draw(true);
}

ProgressSnapshot ProgressBar::snapshot() const {
  ProgressSnapshot s;
  s.description = options_.description;
  s.postfix = postfix_;
  s.n = n_;
  s.total = options_.total;
  s.initial = options_.initial;
  s.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  s.unit = options_.unit;
  s.bar_width = options_.bar_width;
  return s;
}

void ProgressBar::draw(bool final) {
  last_draw_ = std::chrono::steady_clock::now();
  const std::string line = format_progress(snapshot());
  if (tty_) {
    const size_t width = display_width(line);
    // Pad over the tail of a longer previous line; a shorter line would leave it visible.
    const size_t pad = last_width_ > width ? last_width_ - width : 0;
    std::fprintf(options_.stream, "\r%s%*s%s", line.c_str(), static_cast<int>(pad), "",
                 final ? "\n" : "");
    last_width_ = width;
  } else {
    std::fprintf(options_.stream, "%s\n", line.c_str());
  }
  std::fflush(options_.stream);
}

}  // namespace bertkit
