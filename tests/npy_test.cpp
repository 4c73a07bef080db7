// save_npy writes exactly what numpy.save (format 1.0) writes; the expected bytes spell out
// numpy's header: the dict repr, padded with spaces and a newline to a multiple of 64.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "bertkit/serialization.h"
#include "support/paths.h"

namespace bertkit {
namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string numpy_header(const std::string& dict) {
  std::string header = dict;
  header.append(64 - (10 + dict.size() + 1) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header;
}

class Npy : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ::bertkit::testing::make_temp_dir("bertkit-npy"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(Npy, MatrixOfFloat32MatchesNumpy) {
  const float values[6] = {1, 2, 3, 4, 5, 6.5f};
  save_npy(dir_ / "a.npy", Tensor::from<float>({2, 3}, values));
  const std::string bytes = read_text(dir_ / "a.npy");
  // numpy.save(np.zeros((2, 3), '<f4')) has a 118-byte header: data starts at 128.
  const std::string expected_header =
      numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  ASSERT_EQ(expected_header.size(), 128u);
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 128), expected_header);
  EXPECT_EQ(std::memcmp(bytes.data() + 128, values, 24), 0);
}

TEST_F(Npy, ShapesAndDTypesAreSpelledLikeNumpy) {
  const std::int64_t ids[3] = {101, 7, 102};
  save_npy(dir_ / "v.npy", Tensor::from<std::int64_t>({3}, ids));
  EXPECT_EQ(read_text(dir_ / "v.npy")
                .substr(0, 128)
                .find("{'descr': '<i8', 'fortran_order': "
                      "False, 'shape': (3,), }"),
            10u);
  save_npy(dir_ / "s.npy", Tensor(DType::kU8, {}));
  const std::string scalar = read_text(dir_ / "s.npy");
  EXPECT_EQ(scalar.substr(0, 128),
            numpy_header("{'descr': '|u1', 'fortran_order': False, 'shape': (), }"));
  EXPECT_EQ(scalar.size(), 129u);
}

TEST_F(Npy, HeaderThatIsAlreadyAlignedGetsAFullPad) {
  // numpy pads with 64 spaces rather than 0 when the dict already ends on the boundary.
  // The dict below is 117 characters: 10 + 117 + 1 = 128.
  std::vector<std::int64_t> shape(21, 1);
  shape[0] = 10;
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (10";
  for (int i = 0; i < 20; ++i) dict += ", 1";
  dict += "), }";
  ASSERT_EQ(dict.size(), 117u);
  Tensor t(DType::kF32, shape);
  save_npy(dir_ / "p.npy", t);
  const std::string bytes = read_text(dir_ / "p.npy");
  const std::string header = numpy_header(dict);
  EXPECT_EQ(header.size(), 192u);
  EXPECT_EQ(bytes.substr(0, header.size()), header);
  EXPECT_EQ(bytes.size(), header.size() + t.nbytes());
}

TEST_F(Npy, RefusesWhatNumpyCannotHold) {
  EXPECT_THROW(save_npy(dir_ / "b.npy", Tensor(DType::kBF16, {2})), InvalidArgument);
  EXPECT_THROW(save_npy(dir_ / "e.npy", Tensor()), InvalidArgument);
  EXPECT_THROW(save_npy(dir_ / "no" / "x.npy", Tensor(DType::kF32, {1})), IoError);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "b.npy"));
}

}  // namespace
}  // namespace bertkit
