// pytorch_model.bin: the golden torch.save files load equal, bit for bit, to the golden
// model.safetensors (same values per the goldens' README); the zip container and the
// restricted unpickler refuse corrupt and hostile input (hand-built pickles) with clear errors.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "bertkit/serialization.h"
#include "io/torch_zip.h"
#include "support/files.h"
#include "support/paths.h"

namespace bertkit {
namespace {

using namespace std::string_literals;

using ::bertkit::testing::fixture;

using ::bertkit::testing::read_bytes;
using ::bertkit::testing::write_bytes;

void expect_bitwise_equal(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.contains(name)) << name;
    const Tensor& u = b.at(name);
    EXPECT_EQ(t.dtype(), u.dtype()) << name;
    ASSERT_EQ(t.shape(), u.shape()) << name;
    EXPECT_EQ(std::memcmp(t.data(), u.data(), t.nbytes()), 0) << name;
  }
}

TEST(TorchBin, GoldenTinyEqualsSafetensorsBitForBit) {
  const auto bin = load_pytorch_bin(fixture("golden/tiny/pytorch_model.bin"));
  expect_bitwise_equal(bin, load_safetensors(fixture("golden/tiny/model.safetensors")));
  // torch aligns stored entries to 64 bytes, so tensors view the mapping without a copy.
  EXPECT_THROW(const_cast<Tensor&>(bin.at("classifier.weight")).mutable_data(), InvalidArgument);
}

TEST(TorchBin, GoldenSmallEqualsSafetensorsBitForBit) {
  expect_bitwise_equal(load_pytorch_bin(fixture("golden/small/pytorch_model.bin")),
                       load_safetensors(fixture("golden/small/model.safetensors")));
}

TEST(TorchBin, DeflatedAndZip64ContainersLoad) {
  const auto golden = load_safetensors(fixture("golden/tiny/model.safetensors"));
  expect_bitwise_equal(load_pytorch_bin(fixture("torch-bin/tiny_deflated.bin")), golden);
  expect_bitwise_equal(load_pytorch_bin(fixture("torch-bin/tiny_zip64.bin")), golden);
}

TEST(TorchBin, Zip64EndRecordIsFollowed) {
  // Saturating the classic end record forces the reader onto the zip64 end record.
  auto bytes = read_bytes(fixture("torch-bin/tiny_zip64.bin"));
  const std::size_t end = bytes.size() - 22;
  ASSERT_EQ(static_cast<int>(bytes[end]), 'P');
  for (std::size_t i : {8, 9, 10, 11}) bytes[end + i] = std::byte{0xFF};   // entry counts
  for (std::size_t i = 12; i < 20; ++i) bytes[end + i] = std::byte{0xFF};  // size, offset
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-zip64");
  write_bytes(dir / "m.bin", bytes);
  expect_bitwise_equal(load_pytorch_bin(dir / "m.bin"),
                       load_safetensors(fixture("golden/tiny/model.safetensors")));
  std::filesystem::remove_all(dir);
}

TEST(TorchBin, TruncatedArchivesAreRefused) {
  const auto full = read_bytes(fixture("golden/tiny/pytorch_model.bin"));
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-bin-trunc");
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n < full.size(); n += 4999) lengths.push_back(n);
  for (std::size_t n = full.size() - 300; n < full.size(); ++n) lengths.push_back(n);
  for (std::size_t n : lengths) {
    write_bytes(dir / "t.bin", std::span(full).first(n));
    EXPECT_THROW(load_pytorch_bin(dir / "t.bin"), FormatError) << "prefix " << n;
  }
  std::filesystem::remove_all(dir);
}

TEST(TorchBin, CorruptedBytesAreCaughtByTheCrc) {
  const auto full = read_bytes(fixture("golden/tiny/pytorch_model.bin"));
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-bin-flip");
  // A byte inside data.pkl (offset 100) and inside the first storage (offset 20000).
  for (std::size_t at : {std::size_t{100}, std::size_t{20000}}) {
    auto bytes = full;
    bytes[at] ^= std::byte{0x10};
    write_bytes(dir / "f.bin", bytes);
    try {
      load_pytorch_bin(dir / "f.bin");
      ADD_FAILURE() << "flip at " << at << " was not detected";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("CRC-32 mismatch"), std::string::npos) << e.what();
    }
  }
  // Flips anywhere in the central directory and end record: an error or a correct load.
  const std::size_t dir_start = full.size() - 4000;
  for (std::size_t at = dir_start; at < full.size(); at += 7) {
    auto bytes = full;
    bytes[at] ^= std::byte{0x41};
    write_bytes(dir / "f.bin", bytes);
    try {
      load_pytorch_bin(dir / "f.bin");
    } catch (const Error&) {
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(TorchBin, NotAnArchive) {
  const auto dir = ::bertkit::testing::make_temp_dir("bertkit-bin-bad");
  const std::string text = "this is not a zip file at all, but long enough to look";
  write_bytes(dir / "x.bin", std::as_bytes(std::span(text)));
  EXPECT_THROW(load_pytorch_bin(dir / "x.bin"), FormatError);
  const char legacy[] = "\x80\x02\x8a\x0alo";
  write_bytes(dir / "legacy.bin", std::as_bytes(std::span(legacy)));
  try {
    load_pytorch_bin(dir / "legacy.bin");
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos);
  }
  EXPECT_THROW(load_pytorch_bin(dir / "missing.bin"), IoError);
  std::filesystem::remove_all(dir);
}

TEST(TorchZip, EmptyEntriesReadAsEmpty) {
  // Written by Python's zipfile (tests/fixtures/torch-bin/make_variants.py).
  const auto archive = read_bytes(fixture("torch-bin/empty_entries.zip"));
  const io::ZipReader zip(archive, "empty_entries.zip");
  ASSERT_EQ(zip.entries().size(), 2u);
  for (const auto& e : zip.entries()) {
    std::vector<std::byte> scratch;
    EXPECT_TRUE(zip.read(e, scratch).empty()) << e.name;
  }
}

// --- hand-built pickles for the restricted unpickler ---

class Pickle {
 public:
  Pickle& raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }
  // Literals may hold NUL bytes, so their length comes from the array, not from strlen.
  template <std::size_t N>
  Pickle& raw(const char (&bytes)[N]) {
    return raw(std::string_view(bytes, N - 1));
  }
  Pickle& op(char c) { return raw(std::string(1, c)); }
  Pickle& proto(int v) { return op('\x80').op(static_cast<char>(v)); }
  Pickle& str(std::string_view s) {  // BINUNICODE
    op('X');
    for (int i = 0; i < 4; ++i) op(static_cast<char>((s.size() >> (8 * i)) & 0xFF));
    return raw(s);
  }
  Pickle& i1(int v) { return op('K').op(static_cast<char>(v)); }
  Pickle& global(std::string_view module, std::string_view name) {
    return op('c').raw(module).op('\n').raw(name).op('\n');
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  Pickle& ints(std::initializer_list<int> values) {
    op('(');
    for (int v : values) i1(v);
    return op('t');
  }
  // torch._utils._rebuild_tensor_v2 over ('storage', torch.<type>, key, 'cpu', numel).
  Pickle& tensor(std::string_view type, std::string_view key, int numel, int offset,
                 std::initializer_list<int> size, std::initializer_list<int> stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", type).str(key).str("cpu").i1(numel).op('t').op('Q');
    i1(offset).ints(size).ints(stride).op('\x89').ordered_dict();
    return op('t').op('R');
  }
  std::span<const std::byte> bytes() const { return std::as_bytes(std::span(out_)); }

 private:
  std::string out_;
};

std::string pickle_error(const Pickle& p,
                         const std::map<std::string, std::span<const std::byte>>& storages = {}) {
  try {
    parse_torch_pickle(p.bytes(), storages);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

const float kFloats[6] = {1, 2, 3, 4, 5, 6};
const std::map<std::string, std::span<const std::byte>> kStorages = {
    {"0", std::as_bytes(std::span(kFloats))}};

TEST(TorchPickle, StateDictWithStridedTensorAndParameter) {
  Pickle p;
  p.proto(2).ordered_dict().op('(');
  p.str("row").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.str("transposed").tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  p.str("slice").tensor("FloatStorage", "0", 6, 4, {2}, {1});
  p.str("param").global("torch._utils", "_rebuild_parameter").op('(');
  p.tensor("FloatStorage", "0", 6, 1, {1}, {1}).op('\x88').ordered_dict().op('t').op('R');
  // BUILD sets the state dict's _metadata attribute: {'_metadata': {}}.
  p.op('u').op('}').str("_metadata").op('}').op('s').op('b').op('.');
  const auto sd = parse_torch_pickle(p.bytes(), kStorages);
  ASSERT_EQ(sd.size(), 4u);
  const auto t = sd.at("transposed").span<float>();
  EXPECT_EQ(std::vector<float>(t.begin(), t.end()), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(sd.at("row").shape_string(), "[2, 3]");
  EXPECT_EQ(sd.at("slice").span<float>()[1], 6.0f);
  EXPECT_EQ(sd.at("param").span<float>()[0], 2.0f);
}

TEST(TorchPickle, Protocol4OpcodesAreUnderstood) {
  // FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, BINGET, LONG1, TUPLE1.
  std::string b = "\x80\x04\x95"s;
  b += std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8);
  b += "\x8c\x0b"s
       "collections\x94\x8c\x0b"s
       "OrderedDict\x94\x93\x94)R\x94"s;
  b += "\x8c\x01k"s;  // key
  b += "\x8c\x0ctorch._utils\x8c\x12_rebuild_tensor_v2\x93("s;
  b += "(\x8c\x07storage\x8c\x05torch\x8c\x0c"s
       "FloatStorage\x93\x8c\x01"s
       "0\x8c\x03"s
       "cpuK\x06t"s
       "Q"s;
  b += std::string("\x8a\x01\x02", 3);              // LONG1 offset 2
  b += "K\x02\x85K\x01\x85\x89h\x00h\x01\x93)Rt"s;  // (2,), (1,), False, OrderedDict()
  b += "Rs."s;
  const auto sd = parse_torch_pickle(std::as_bytes(std::span(b)), kStorages);
  EXPECT_EQ(sd.at("k").span<float>()[0], 3.0f);
}

TEST(TorchPickle, GoldenDataPklParsesFromMemory) {
  const auto archive = read_bytes(fixture("golden/tiny/pytorch_model.bin"));
  const io::ZipReader zip(archive, "tiny");
  std::vector<std::byte> scratch;
  std::map<std::string, std::span<const std::byte>> storages;
  for (const auto& e : zip.entries()) {
    if (e.name.starts_with("pytorch_model/data/")) {
      storages.emplace(e.name.substr(19), zip.read(e, scratch));  // stored: scratch unused
    }
  }
  const auto pkl = zip.read(*zip.find("pytorch_model/data.pkl"), scratch);
  expect_bitwise_equal(parse_torch_pickle(pkl, storages),
                       load_safetensors(fixture("golden/tiny/model.safetensors")));
}

TEST(TorchPickle, HostilePicklesAreRefused) {
  struct Case {
    const char* what;
    Pickle pickle;
    std::string expected;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"os.system",
       Pickle().proto(2).global("os", "system").str("echo pwned").op('\x85').op('R').op('.'),
       "refuses global os.system"});
  cases.push_back({"builtins.eval via STACK_GLOBAL",
                   Pickle()
                       .proto(4)
                       .raw("\x8c\x08"
                            "builtins\x8c\x04"
                            "eval\x93")
                       .op('.'),
                   "refuses global builtins.eval"});
  cases.push_back({"posix.system", Pickle().proto(2).global("posix", "system").op('.'),
                   "refuses global posix.system"});
  cases.push_back({"torch.load", Pickle().proto(2).global("torch", "load").op('.'),
                   "refuses global torch.load"});
  cases.push_back({"calling a storage type",
                   Pickle().proto(2).global("torch", "FloatStorage").op(')').op('R').op('.'),
                   "refuses to call torch.FloatStorage"});
  cases.push_back({"INST opcode", Pickle().proto(2).raw("(ios\nsystem\n."), "opcode 0x69"});
  cases.push_back({"OBJ opcode", Pickle().proto(2).op('(').op('o').op('.'), "opcode 0x6f"});
  cases.push_back({"stack underflow", Pickle().proto(2).op('R').op('.'), "stack underflow"});
  cases.push_back(
      {"pop below mark", Pickle().proto(2).op(')').op('(').op('\x85').op('.'), "stack underflow"});
  cases.push_back({"no mark", Pickle().proto(2).op('t').op('.'), "no MARK"});
  cases.push_back({"memo miss", Pickle().proto(2).raw("h\x05."), "memo key 5"});
  cases.push_back({"truncated string",
                   Pickle().proto(2).raw("X\xff\x00\x00\x00"
                                         "ab"),
                   "truncated"});
  cases.push_back({"no STOP", Pickle().proto(2).ordered_dict(), "truncated"});
  cases.push_back({"protocol 6", Pickle().proto(6).op('}').op('.'), "protocol 6"});
  cases.push_back({"not a dict", Pickle().proto(2).i1(1).op('.'), "not a dict of tensors"});
  cases.push_back({"cyclic list",
                   Pickle().proto(2).raw("]q\x00h\x00"
                                         "a."),
                   "not a dict of tensors"});
  cases.push_back({"non-tensor value", Pickle().proto(2).op('}').str("x").i1(1).op('s').op('.'),
                   "entry 'x' is not a tensor"});
  cases.push_back({"invalid utf8", Pickle().proto(2).raw("X\x01\x00\x00\x00\xff."), "UTF-8"});
  cases.push_back({"wide LONG1",
                   Pickle().proto(2).raw("\x8a\x09"
                                         "123456789."),
                   "64 bits"});
  cases.push_back({"missing storage",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("FloatStorage", "9", 6, 0, {6}, {1})
                       .op('s')
                       .op('.'),
                   "storage '9' is not in the archive"});
  cases.push_back({"storage shorter than claimed",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("FloatStorage", "0", 8, 0, {8}, {1})
                       .op('s')
                       .op('.'),
                   "holds 24 bytes, not 8 F32 elements"});
  cases.push_back({"tensor larger than storage",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("FloatStorage", "0", 6, 0, {7}, {1})
                       .op('s')
                       .op('.'),
                   "views storage '0' of only 6"});
  cases.push_back({"offset past storage",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("FloatStorage", "0", 6, 5, {2}, {1})
                       .op('s')
                       .op('.'),
                   "reaches element 6"});
  cases.push_back({"stride past storage",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("FloatStorage", "0", 6, 0, {2}, {9})
                       .op('s')
                       .op('.'),
                   "reaches element 9"});
  cases.push_back({"rank mismatch",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("FloatStorage", "0", 6, 0, {2, 3}, {1})
                       .op('s')
                       .op('.'),
                   "different ranks"});
  cases.push_back({"wrong dtype for bytes",
                   Pickle()
                       .proto(2)
                       .op('}')
                       .str("w")
                       .tensor("DoubleStorage", "0", 6, 0, {6}, {1})
                       .op('s')
                       .op('.'),
                   "holds 24 bytes, not 6 F64 elements"});
  cases.push_back({"bad persistent id", Pickle().proto(2).str("storage").op('\x85').op('Q').op('.'),
                   "persistent id"});
  for (const auto& c : cases) {
    const std::string error = pickle_error(c.pickle, kStorages);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << c.what << ": expected \"" << c.expected << "\" in: " << error;
  }
}

TEST(TorchPickle, EveryTruncationOfARealPickleIsRefused) {
  Pickle p;
  p.proto(2).ordered_dict().op('(');
  p.str("a").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.op('u').op('.');
  ASSERT_NO_THROW(parse_torch_pickle(p.bytes(), kStorages));
  for (std::size_t n = 0; n < p.bytes().size(); ++n) {
    EXPECT_THROW(parse_torch_pickle(p.bytes().first(n), kStorages), FormatError) << n;
  }
}

}  // namespace
}  // namespace bertkit
