// Log sinks: CRC-32C against the RFC 3720 test vectors, Event protobufs against bytes assembled
// by hand from event.proto/summary.proto, a written TensorBoard file read back frame by frame,
// and the JSON Lines log in json.dumps layout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "bertkit/error.h"
#include "bertkit/training_logs.h"
#include "support/paths.h"

namespace bertkit {
namespace {

namespace fs = std::filesystem;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

template <class T>
T read_le(const std::string& data, std::size_t at) {
  T value;
  std::memcpy(&value, data.data() + at, sizeof(T));
  return value;
}

TEST(Crc32c, Rfc3720Vectors) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending += static_cast<char>(i);
    descending += static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
  const std::uint32_t crc = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
}

TEST(EventProto, ScalarEventBytes) {
  const std::string expected = bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F}) +  // wall_time 1.5
                               bytes({0x10, 0xAC, 0x02}) +                    // step 300
                               bytes({0x2A, 0x13, 0x0A, 0x11, 0x0A, 0x0A}) + "train/loss" +
                               bytes({0x15, 0x00, 0x00, 0x00, 0x3F});  // simple_value 0.5f
  EXPECT_EQ(encode_event_scalar(1.5, 300, "train/loss", 0.5f), expected);
  // Step 0 is proto3's default and is not written.
  EXPECT_EQ(encode_event_scalar(1.5, 0, "a", 0.5f),
            bytes({0x09, 0,    0,    0,    0,   0,    0, 0xF8, 0x3F, 0x2A, 0x0A,
                   0x0A, 0x08, 0x0A, 0x01, 'a', 0x15, 0, 0,    0,    0x3F}));
  EXPECT_EQ(encode_event_file_version(1.5),
            bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x1A, 0x0D}) + "brain.Event:2");
}

TEST(TfRecord, Framing) {
  const std::string frame = tfrecord_frame("abc");
  ASSERT_EQ(frame.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(read_le<std::uint64_t>(frame, 0), 3u);
  EXPECT_EQ(read_le<std::uint32_t>(frame, 8), masked_crc32c(frame.substr(0, 8)));
  EXPECT_EQ(frame.substr(12, 3), "abc");
  EXPECT_EQ(read_le<std::uint32_t>(frame, 15), masked_crc32c("abc"));
}

TEST(TensorBoardWriter, WritesReadableEventFile) {
  const fs::path dir = ::bertkit::testing::make_temp_dir("bertkit-tb") / "runs" / "x";
  fs::path file;
  {
    TensorBoardWriter writer(dir);
    file = writer.path();
    writer.log({{"loss", 0.5396},
                {"learning_rate", 5e-05},
                {"epoch", 0.08},
                {"note", std::string("skip")}},
               500);
    writer.add_scalar("eval/accuracy", 0.75f, 600, 2.0);
  }
  const std::regex name(R"(events\.out\.tfevents\.\d{10}\..+\.(\d+)\.0)");
  std::smatch m;
  const std::string filename = file.filename().string();
  ASSERT_TRUE(std::regex_match(filename, m, name)) << filename;
  EXPECT_EQ(std::stoi(m[1].str()), static_cast<int>(getpid()));
  const std::string data = read_file(file);
  std::vector<std::string> records;
  for (std::size_t at = 0; at < data.size();) {
    ASSERT_LE(at + 12, data.size());
    const auto length = read_le<std::uint64_t>(data, at);
    ASSERT_EQ(read_le<std::uint32_t>(data, at + 8), masked_crc32c(data.substr(at, 8)));
    ASSERT_LE(at + 12 + length + 4, data.size());
    const std::string record = data.substr(at + 12, length);
    ASSERT_EQ(read_le<std::uint32_t>(data, at + 12 + length), masked_crc32c(record));
    records.push_back(record);
    at += 12 + length + 4;
  }
  ASSERT_EQ(records.size(), 5u);  // file_version + 3 scalars (the string is skipped) + 1
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  EXPECT_NE(records[1].find("train/loss"), std::string::npos);
  EXPECT_NE(records[2].find("train/learning_rate"), std::string::npos);
  EXPECT_NE(records[3].find("train/epoch"), std::string::npos);
  EXPECT_EQ(records[4], encode_event_scalar(2.0, 600, "eval/accuracy", 0.75f));
  fs::remove_all(dir.parent_path().parent_path());
}

TEST(JsonlLogger, OneJsonDumpsLinePerLog) {
  const fs::path dir = ::bertkit::testing::make_temp_dir("bertkit-jsonl");
  {
    JsonlLogger logger(dir / "sub" / "log.jsonl");
    logger.log({{"loss", 0.5396},
                {"grad_norm", 57.49171447753906},
                {"learning_rate", 5e-05},
                {"epoch", 0.08}},
               500);
    logger.log({{"train_runtime", 3876.8226}, {"note", std::string("caf\xc3\xa9")}}, 18750);
  }
  EXPECT_EQ(read_file(dir / "sub" / "log.jsonl"),
            "{\"loss\": 0.5396, \"grad_norm\": 57.49171447753906, \"learning_rate\": 5e-05, "
            "\"epoch\": 0.08, \"step\": 500}\n"
            "{\"train_runtime\": 3876.8226, \"note\": \"caf\\u00e9\", \"step\": 18750}\n");
  fs::remove_all(dir);
  EXPECT_THROW(JsonlLogger("/proc/definitely/not/here.jsonl"), IoError);
}

}  // namespace
}  // namespace bertkit
