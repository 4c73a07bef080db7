// `bertkit tokenize` in its readable mode and its error handling (the --jsonl parity mode is
// checked against every golden case in tokenizer_golden_test).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/paths.h"
#include "support/shell.h"

namespace {

using Result = bertkit::testing::CommandResult;

Result run(const std::string& args, const std::string& stdin_text = "",
           const std::string& model = bertkit::testing::fixture("bert-base-uncased").string()) {
  const auto dir = bertkit::testing::make_temp_dir("tok-cli-run");
  std::ofstream(dir / "in.txt", std::ios::binary) << stdin_text;
  std::string cmd = "'";
  cmd.append(bertkit::testing::cli_path().string());
  cmd.append("' tokenize --model '");
  cmd.append(model);
  cmd.append("' ");
  cmd.append(args);
  cmd.append(" < '");
  cmd.append((dir / "in.txt").string());
  cmd.append("' 2>&1");
  return bertkit::testing::run_command(cmd);  // stdout and stderr
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(TokenizerCli, TextsFromArguments) {
  const Result r = run("'I love Kathmandu' 'Beautiful Nepal'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "tokens:         [CLS] i love kathmandu [SEP]")) << r.output;
  EXPECT_TRUE(contains(r.output, "input_ids:      101 1045 2293 28045 102")) << r.output;
  EXPECT_TRUE(contains(r.output, "input_ids:      101 3376 8222 102")) << r.output;
}

TEST(TokenizerCli, PairTruncationPaddingOffsets) {
  const Result r =
      run("--text-pair 'I am six years old.' --max-length 10 --truncation only_second "
          "--padding max_length --offsets 'How old are you?'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "input_ids:      101 2129 2214 2024 2017 1029 102 1045 2572 102"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "token_type_ids: 0 0 0 0 0 0 0 1 1 1")) << r.output;
  EXPECT_TRUE(contains(r.output, "offset_mapping: (0,0) (0,3) (4,7)")) << r.output;
}

TEST(TokenizerCli, PaddingLongestAcrossStdinLines) {
  const Result r = run("--padding longest --no-special-tokens", "a b c\nd\n");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "input_ids:      1040 0 0")) << r.output;
  EXPECT_TRUE(contains(r.output, "attention_mask: 1 0 0")) << r.output;
}

TEST(TokenizerCli, InvalidUtf8IsAnErrorWithTheByteOffset) {
  const Result r = run("", "ok\nab\xC3(\n");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "invalid UTF-8 at byte offset 2")) << r.output;
}

TEST(TokenizerCli, JsonlReportsBadRequestsAndFails) {
  const Result r = run("--jsonl", "{\"text\": \"hi\"}\nnot json\n{\"batch\": [\"a\", [\"b\"]]}\n");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "\"input_ids\":[101,7632,102]")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"line\":2,\"error\"")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"line\":3,\"error\"")) << r.output;
}

TEST(TokenizerCli, UnknownModelFolder) {
  const Result r = run("hi", "", "/nonexistent/folder");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "/nonexistent/folder")) << r.output;
}

}  // namespace
