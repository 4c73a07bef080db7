// TensorBoard event files without TensorFlow: TFRecord framing with CRC-32C (Castagnoli) and the
// few Event/Summary protobuf fields a scalar needs, encoded by hand. Field numbers follow
// tensorflow/core/util/event.proto and summary.proto.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include "bertkit/error.h"
#include "bertkit/training_logs.h"

namespace bertkit {

namespace {

std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

template <class T>
void put_little_endian(std::string& out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and aarch64 Linux are little-endian
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  put_varint(out, static_cast<std::uint64_t>(field) << 3 | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

void put_wall_time(std::string& out, double wall_time) {
  put_varint(out, 1 << 3 | 1);  // Event.wall_time: double
  put_little_endian(out, wall_time);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
  static const auto table = make_crc32c_table();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::uint32_t masked_crc32c(std::string_view data) {
  const std::uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

std::string tfrecord_frame(std::string_view data) {
  std::string length;
  put_little_endian(length, static_cast<std::uint64_t>(data.size()));
  std::string out = length;
  put_little_endian(out, masked_crc32c(length));
  out.append(data);
  put_little_endian(out, masked_crc32c(data));
  return out;
}

std::string encode_event_file_version(double wall_time) {
  std::string event;
  put_wall_time(event, wall_time);
  put_bytes_field(event, 3, "brain.Event:2");  // Event.file_version
  return event;
}

std::string encode_event_scalar(double wall_time, std::int64_t step, std::string_view tag,
                                float value) {
  std::string summary_value;
  put_bytes_field(summary_value, 1, tag);  // Summary.Value.tag
  put_varint(summary_value, 2 << 3 | 5);   // Summary.Value.simple_value: float
  put_little_endian(summary_value, value);
  std::string summary;
  put_bytes_field(summary, 1, summary_value);  // Summary.value
  std::string event;
  put_wall_time(event, wall_time);
  // proto3 leaves a zero step out, as torch's SummaryWriter output does.
  if (step != 0) {
    put_varint(event, 2 << 3 | 0);  // Event.step: int64
    put_varint(event, static_cast<std::uint64_t>(step));
  }
  put_bytes_field(event, 5, summary);  // Event.summary
  return event;
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& logdir) {
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  if (ec)
    throw IoError("cannot create TensorBoard log folder " + logdir.string() + ": " + ec.message());
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "localhost");
  const double wall_time = now_seconds();
  char name[512];
  std::snprintf(name, sizeof(name), "events.out.tfevents.%010lld.%s.%d.0",
                static_cast<long long>(std::floor(wall_time)), host, static_cast<int>(getpid()));
  file_ = logdir / name;
  out_ = std::fopen(file_.c_str(), "ab");
  if (out_ == nullptr) throw IoError("cannot open " + file_.string() + ": " + std::strerror(errno));
  write_record(encode_event_file_version(wall_time));
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (out_ != nullptr) std::fclose(out_);
}

void TensorBoardWriter::write_record(const std::string& data) {
  const std::string frame = tfrecord_frame(data);
  if (std::fwrite(frame.data(), 1, frame.size(), out_) != frame.size()) {
    throw IoError("cannot write to " + file_.string() + ": " + std::strerror(errno));
  }
}

void TensorBoardWriter::add_scalar(std::string_view tag, float value, std::int64_t step,
                                   double wall_time) {
  write_record(encode_event_scalar(wall_time < 0 ? now_seconds() : wall_time, step, tag, value));
}

void TensorBoardWriter::log(const LogEntry& entry, std::int64_t step) {
  // TensorBoardCallback logs only int and float values (strings are skipped with a warning).
  for (const auto& [key, value] : entry) {
    if (const double* d = std::get_if<double>(&value)) {
      add_scalar(tensorboard_tag(key), static_cast<float>(*d), step);
    } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) {
      add_scalar(tensorboard_tag(key), static_cast<float>(*i), step);
    }
  }
  flush();
}

void TensorBoardWriter::flush() {
  if (std::fflush(out_) != 0)
    throw IoError("cannot flush " + file_.string() + ": " + std::strerror(errno));
}

}  // namespace bertkit
