// safetensors reading and writing: the HF golden files load with the documented shapes, every
// malformed or hostile header is refused with a FormatError that names the problem, and
// save_safetensors writes the format byte for byte as the goldens' writer does.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>

#include "bertkit/serialization.h"
#include "support/files.h"
#include "support/paths.h"

namespace bertkit {
namespace {

using ::bertkit::testing::fixture;

using ::bertkit::testing::read_bytes;
using ::bertkit::testing::write_bytes;

// A safetensors image: header length, the header text as given, then `data_size` bytes.
std::vector<std::byte> image(const std::string& header, std::size_t data_size,
                             std::uint64_t header_len_override = UINT64_MAX) {
  std::vector<std::byte> bytes(8 + header.size() + data_size, std::byte{0});
  std::uint64_t n = header_len_override == UINT64_MAX ? header.size() : header_len_override;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  for (std::size_t i = 0; i < data_size; ++i) bytes[8 + header.size() + i] = std::byte(i * 7 + 1);
  return bytes;
}

std::string error_of(std::span<const std::byte> bytes) {
  try {
    parse_safetensors(bytes);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kGoodHeader =
    R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
    R"("b":{"dtype":"I64","shape":[1,1],"data_offsets":[8,16]}})";

TEST(Safetensors, ParsesAWellFormedImage) {
  Metadata metadata;
  const auto tensors = parse_safetensors(image(kGoodHeader, 16), &metadata);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(metadata.at("format"), "pt");
  EXPECT_EQ(tensors.at("a").shape_string(), "[2]");
  EXPECT_EQ(tensors.at("b").dtype(), DType::kI64);
  EXPECT_EQ(static_cast<std::uint8_t>(tensors.at("b").data()[0]), 8 * 7 + 1);
}

TEST(Safetensors, GoldenTinyModelLoads) {
  Metadata metadata;
  const auto tensors = load_safetensors(fixture("golden/tiny/model.safetensors"), &metadata);
  EXPECT_EQ(metadata, (Metadata{{"format", "pt"}}));
  // 2 layers x 16 + 5 embeddings + 2 pooler + 2 classifier
  EXPECT_EQ(tensors.size(), 41u);
  std::int64_t params = 0;
  for (const auto& [name, t] : tensors) {
    EXPECT_EQ(t.dtype(), DType::kF32) << name;
    params += t.numel();
  }
  EXPECT_EQ(params, 53154);  // README: tiny has 53,154 parameters
  EXPECT_EQ(tensors.at("bert.embeddings.word_embeddings.weight").shape_string(), "[1024, 32]");
  EXPECT_EQ(tensors.at("bert.encoder.layer.1.intermediate.dense.weight").shape_string(),
            "[64, 32]");
  EXPECT_EQ(tensors.at("classifier.weight").shape_string(), "[2, 32]");
  // HF init: LayerNorm weight 1, bias 0, [PAD] embedding row zero.
  for (float v : tensors.at("bert.embeddings.LayerNorm.weight").span<float>()) EXPECT_EQ(v, 1.0f);
  const auto word = tensors.at("bert.embeddings.word_embeddings.weight").span<float>();
  for (int i = 0; i < 32; ++i) EXPECT_EQ(word[i], 0.0f);
  EXPECT_NE(word[32], 0.0f);
}

TEST(Safetensors, GoldenOutputsHoldTheDocumentedBatch) {
  const auto t = load_safetensors(fixture("golden/tiny/outputs.safetensors"));
  const auto ids = t.at("input_ids").span<std::int64_t>();
  ASSERT_EQ(t.at("input_ids").shape_string(), "[3, 12]");
  EXPECT_EQ(ids[0], 101);      // [CLS]
  EXPECT_EQ(ids[11], 102);     // row 0 ends with [SEP], no padding
  EXPECT_EQ(ids[12 + 11], 0);  // row 1 is padded
  const auto labels = t.at("labels").span<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(labels.begin(), labels.end()),
            (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_EQ(t.at("attentions.1").shape_string(), "[3, 4, 12, 12]");
}

TEST(Safetensors, GoldenSmallModelLoads) {
  const auto tensors = load_safetensors(fixture("golden/small/model.safetensors"));
  std::int64_t params = 0;
  for (const auto& [name, t] : tensors) params += t.numel();
  EXPECT_EQ(params, 212162);
}

TEST(Safetensors, FileAndMemoryReadersAgree) {
  const auto file = fixture("golden/tiny/model.safetensors");
  const auto mapped = load_safetensors(file);
  const auto copied = parse_safetensors(read_bytes(file));
  ASSERT_EQ(mapped.size(), copied.size());
  for (const auto& [name, t] : mapped) {
    const Tensor& c = copied.at(name);
    ASSERT_EQ(t.shape(), c.shape());
    EXPECT_EQ(std::memcmp(t.data(), c.data(), t.nbytes()), 0) << name;
  }
  EXPECT_THROW(const_cast<Tensor&>(mapped.at("classifier.bias")).mutable_data(), InvalidArgument);
}

TEST(Safetensors, MappingOutlivesTheStateDict) {
  Tensor kept;
  {
    auto tensors = load_safetensors(fixture("golden/tiny/model.safetensors"));
    kept = tensors.at("bert.embeddings.LayerNorm.weight");
  }
  EXPECT_EQ(kept.span<float>()[31], 1.0f);
}

TEST(Safetensors, MissingFileIsAnIoError) {
  EXPECT_THROW(load_safetensors("/nonexistent/model.safetensors"), IoError);
}

struct HostileCase {
  const char* what;
  std::string header;
  std::size_t data_size;
  std::string expected;  // substring of the error
};

TEST(Safetensors, HostileHeadersAreRefused) {
  const std::vector<HostileCase> cases = {
      {"not json", "{\"a\":", 0, "not valid JSON"},
      {"not an object", "[1,2,3]", 0, "not an object"},
      {"entry not object", R"({"a":5})", 0, "'a': entry is not a JSON object"},
      {"missing dtype", R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4, "missing \"dtype\""},
      {"missing shape", R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4, "missing \"shape\""},
      {"missing offsets", R"({"a":{"dtype":"F32","shape":[1]}})", 4, "missing \"data_offsets\""},
      {"unknown dtype", R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4,
       "unknown dtype"},
      {"dtype not string", R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4,
       "not a string"},
      {"negative dim", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
       "non-negative integer"},
      {"float dim", R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", 4,
       "non-negative integer"},
      {"string dim", R"({"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", 4,
       "non-negative integer"},
      {"huge dim", R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})",
       4, "non-negative integer"},
      {"numel overflow",
       R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4,
       "overflows"},
      {"bytes overflow",
       R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4,
       "overflows"},
      {"offsets not pair", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4,
       "[begin, end] pair"},
      {"offsets reversed", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4,
       "begin > end"},
      {"offsets negative", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4,
       "not integers within"},
      {"end beyond data", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4,
       "not integers within the data section of 4 bytes"},
      {"size mismatch", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4,
       "span 4 bytes but F32 [2] needs 8"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, "overlaps tensor 'a'"},
      {"gap",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
       12, "belong to no tensor"},
      {"trailing data", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12,
       "cover 4 bytes of a data section of 12"},
      {"duplicate tensor",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, "duplicate key \"a\""},
      {"duplicate field", R"({"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})",
       4, "duplicate key \"dtype\""},
      {"metadata not object", R"({"__metadata__":[1]})", 0, "\"__metadata__\" is not"},
      {"metadata value not string", R"({"__metadata__":{"format":1}})", 0,
       "value for \"format\" is not a string"},
      {"extra field", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4,
       "unexpected field \"x\""},
      {"deep nesting", std::string(100, '[') + std::string(100, ']'), 0, "nested too deeply"},
      {"invalid utf8", "{\"\xff\":1}", 0, "not valid JSON"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(image(c.header, c.data_size));
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << c.what << ": expected \"" << c.expected << "\" in: " << error;
    EXPECT_NE(error.find("<safetensors in memory>"), std::string::npos) << error;
  }
}

TEST(Safetensors, BadHeaderLengthsAreRefused) {
  EXPECT_NE(error_of(image("", 0)).find("not valid JSON"), std::string::npos);
  const auto short_file = std::vector<std::byte>(7);
  EXPECT_NE(error_of(short_file).find("shorter than the 8-byte"), std::string::npos);
  EXPECT_NE(error_of(image("{}", 0, 3)).find("beyond the end"), std::string::npos);
  EXPECT_NE(error_of(image("{}", 0, 1ULL << 62)).find("exceeds the limit"), std::string::npos);
  EXPECT_NE(error_of(image("{}", 0, UINT64_MAX - 1)).find("exceeds the limit"), std::string::npos);
}

TEST(Safetensors, ZeroSizedAndScalarTensorsAreFine) {
  const auto t = parse_safetensors(image(
      R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"U8","shape":[],"data_offsets":[0,1]}})",
      1));
  EXPECT_EQ(t.at("e").numel(), 0);
  EXPECT_EQ(t.at("s").numel(), 1);
}

TEST(Safetensors, EveryTruncationIsRefused) {
  const auto full = image(kGoodHeader, 16);
  ASSERT_NO_THROW(parse_safetensors(full));
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_THROW(parse_safetensors(std::span(full).first(n)), FormatError) << "prefix " << n;
  }
}

TEST(Safetensors, TruncatedGoldenFilesAreRefused) {
  const auto full = read_bytes(fixture("golden/tiny/model.safetensors"));
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-st-trunc");
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{100},
                        std::size_t{4383}, std::size_t{4384}, full.size() / 2, full.size() - 1}) {
    write_bytes(dir / "t.safetensors", std::span(full).first(n));
    EXPECT_THROW(load_safetensors(dir / "t.safetensors"), FormatError) << "prefix " << n;
  }
  std::filesystem::remove_all(dir);
}

TEST(Safetensors, FlippedHeaderBytesNeverCrash) {
  const auto full = image(kGoodHeader, 16);
  for (std::size_t i = 0; i < 8 + kGoodHeader.size(); ++i) {
    for (int bit : {0, 1, 5, 7}) {
      auto bytes = full;
      bytes[i] ^= std::byte(1 << bit);
      try {
        parse_safetensors(bytes);  // some flips stay valid (e.g. a name changes)
      } catch (const FormatError&) {
      }
    }
  }
}

TEST(Safetensors, UnalignedDataIsCopiedNotMisread) {
  // A 5-byte header puts the data at offset 13: a view would be misaligned for F32.
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  auto bytes = image(header, 4);
  const float value = 3.25f;
  std::memcpy(bytes.data() + 8 + header.size(), &value, 4);
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-st-align");
  write_bytes(dir / "a.safetensors", bytes);
  const auto t = load_safetensors(dir / "a.safetensors");
  EXPECT_EQ(t.at("a").span<float>()[0], 3.25f);
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsWriter, ResavingGoldenFilesIsByteIdentical) {
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-st-save");
  for (const char* name : {"golden/tiny/model.safetensors", "golden/tiny/outputs.safetensors",
                           "golden/small/model.safetensors"}) {
    Metadata metadata;
    const auto tensors = load_safetensors(fixture(name), &metadata);
    save_safetensors(dir / "out.safetensors", tensors, metadata);
    EXPECT_EQ(read_bytes(dir / "out.safetensors"), read_bytes(fixture(name))) << name;
  }
  // Only the target is left: the temporary file was renamed, not copied.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsWriter, RoundTripsEveryDType) {
  StateDict tensors;
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                  DType::kI16, DType::kI8, DType::kU8, DType::kBool}) {
    Tensor t(d, {3, 1});
    for (std::size_t i = 0; i < t.nbytes(); ++i) t.mutable_data()[i] = std::byte(i * 31 + 5);
    tensors.emplace("t." + std::string(dtype_name(d)), t);
  }
  tensors.emplace("empty", Tensor(DType::kF32, {0}));
  tensors.emplace("scalar", Tensor(DType::kI8, {}));
  tensors.emplace("name with \"quotes\" and \xc3\xa9", Tensor(DType::kU8, {2}));
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-st-rt");
  save_safetensors(dir / "x.safetensors", tensors, {{"format", "pt"}, {"note", "a\nb"}});
  Metadata metadata;
  const auto back = load_safetensors(dir / "x.safetensors", &metadata);
  EXPECT_EQ(metadata.at("note"), "a\nb");
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor& b = back.at(name);
    EXPECT_EQ(b.dtype(), t.dtype()) << name;
    EXPECT_EQ(b.shape(), t.shape()) << name;
    EXPECT_EQ(std::memcmp(b.data(), t.data(), t.nbytes()), 0) << name;
  }
  const auto bytes = read_bytes(dir / "x.safetensors");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsWriter, RefusesBadInputWithoutTouchingTheTarget) {
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-st-bad");
  StateDict good;
  good.emplace("a", Tensor(DType::kF32, {1}));
  save_safetensors(dir / "x.safetensors", good);
  const auto before = read_bytes(dir / "x.safetensors");
  StateDict bad;
  bad.emplace("a", Tensor());
  EXPECT_THROW(save_safetensors(dir / "x.safetensors", bad), InvalidArgument);
  StateDict reserved;
  reserved.emplace("__metadata__", Tensor(DType::kF32, {1}));
  EXPECT_THROW(save_safetensors(dir / "x.safetensors", reserved), InvalidArgument);
  StateDict not_utf8;
  not_utf8.emplace("\xff", Tensor(DType::kF32, {1}));
  EXPECT_THROW(save_safetensors(dir / "x.safetensors", not_utf8), InvalidArgument);
  EXPECT_EQ(read_bytes(dir / "x.safetensors"), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  EXPECT_THROW(save_safetensors(dir / "missing" / "x.safetensors", good), IoError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bertkit
