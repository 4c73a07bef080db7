// The tqdm-like progress bar (src/core/progress_bar.h): its text matches tqdm's layout for
// iterations and for bytes, and off a terminal it prints one line at the end.
#include "core/progress_bar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

using bertkit::format_duration;
using bertkit::format_progress;
using bertkit::format_si;
using bertkit::ProgressSnapshot;
using bertkit::ProgressUnit;

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ProgressBar, SiPrefixesLikeTqdmUnitScale) {
  EXPECT_EQ(format_si(0), "0.00");
  EXPECT_EQ(format_si(999), "999");
  EXPECT_EQ(format_si(1536), "1.54k");
  EXPECT_EQ(format_si(27000000), "27.0M");
  EXPECT_EQ(format_si(440473133), "440M");
}

TEST(ProgressBar, Durations) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(65.9), "01:05");
  EXPECT_EQ(format_duration(3665), "1:01:05");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(ProgressBar, TrainingStepsWithEtaAndPostfix) {
  ProgressSnapshot s;
  s.description = "Training";
  s.n = 450;
  s.total = 1000;
  s.elapsed_s = 12.0;
  EXPECT_EQ(format_progress(s), "Training:  45%|" + repeat("█", 9) + std::string(11, ' ') +
                                    "| 450/1000 [00:12<00:14, 37.50it/s]");
  s.postfix = "loss=0.4132";
  EXPECT_EQ(format_progress(s), "Training:  45%|" + repeat("█", 9) + std::string(11, ' ') +
                                    "| 450/1000 [00:12<00:14, 37.50it/s, loss=0.4132]");
}

TEST(ProgressBar, PartialCellsAndSlowLoops) {
  ProgressSnapshot s;
  s.n = 1;
  s.total = 16;  // 1/16 of 20 cells = 1.25 cells: one full block and a quarter block
  s.elapsed_s = 4.0;
  EXPECT_EQ(format_progress(s),
            "  6%|█▎" + std::string(18, ' ') + "| 1/16 [00:04<01:00, 4.00s/it]");
}

TEST(ProgressBar, BytesWithRateInMegabytesPerSecond) {
  ProgressSnapshot s;
  s.description = "model.safetensors";
  s.unit = ProgressUnit::kBytes;
  s.n = 13500000;
  s.total = 27000000;
  s.elapsed_s = 2.0;
  EXPECT_EQ(format_progress(s), "model.safetensors:  50%|" + repeat("█", 10) +
                                    std::string(10, ' ') + "| 13.5M/27.0M [00:02<00:02, 6.75MB/s]");
  // A resumed download is not credited with the bytes it already had.
  s.initial = 13000000;
  EXPECT_NE(format_progress(s).find("250kB/s"), std::string::npos) << format_progress(s);
}

TEST(ProgressBar, UnknownTotalShowsCountAndRate) {
  ProgressSnapshot s;
  s.description = "x";
  s.n = 5;
  s.elapsed_s = 1.0;
  EXPECT_EQ(format_progress(s), "x: 5 [00:01, 5.00it/s]");
  s.elapsed_s = 0.0;
  EXPECT_EQ(format_progress(s), "x: 5 [00:00, ?it/s]");
}

TEST(ProgressBar, OffATerminalPrintsOneLineOnClose) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    bertkit::ProgressBar bar(
        {.description = "steps", .total = 3, .stream = file, .plain_interval_s = 0});
    for (int i = 0; i < 3; ++i) bar.update(1);
    EXPECT_EQ(std::ftell(file), 0);  // nothing while running
  }
  std::rewind(file);
  char buffer[256] = {0};
  const size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  const std::string text(buffer, n);
  EXPECT_TRUE(text.starts_with("steps: 100%|" + repeat("█", 20) + "| 3/3 [")) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
}

TEST(ProgressBar, OffATerminalPrintsPlainLinesPeriodically) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    bertkit::ProgressBar bar(
        {.description = "steps", .total = 3, .stream = file, .plain_interval_s = 0.02});
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      bar.update(1);  // each update comes after the interval: one line each
    }
  }
  std::rewind(file);
  char buffer[1024] = {0};
  const size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  const std::string text(buffer, n);
  EXPECT_TRUE(text.starts_with("steps:  33%|")) << text;
  EXPECT_NE(text.find("\nsteps:  67%|"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsteps: 100%|"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
}

TEST(ProgressBar, DisabledPrintsNothing) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    bertkit::ProgressBar bar({.total = 3, .stream = file, .enabled = false});
    bar.update(3);
  }
  EXPECT_EQ(std::ftell(file), 0);
  std::fclose(file);
}

}  // namespace
