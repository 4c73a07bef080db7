// Tensor storage and dtype conversions: the F16/BF16 conversions are checked exhaustively
// against the IEEE definitions computed in double precision.
#include "bertkit/tensor.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace bertkit {
namespace {

Tensor halves(DType dtype, const std::vector<std::uint16_t>& bits) {
  Tensor t(dtype, {static_cast<std::int64_t>(bits.size())});
  std::memcpy(t.mutable_data(), bits.data(), bits.size() * 2);
  return t;
}

double ieee_half_value(std::uint16_t bits) {
  const int sign = bits >> 15;
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  double magnitude =
      exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -magnitude : magnitude;
}

TEST(DType, NamesAndSizesRoundTrip) {
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                  DType::kI16, DType::kI8, DType::kU8, DType::kBool}) {
    EXPECT_EQ(parse_dtype(dtype_name(d)), d);
  }
  EXPECT_EQ(dtype_name(DType::kBF16), "BF16");
  EXPECT_EQ(dtype_name(DType::kBool), "BOOL");
  EXPECT_EQ(dtype_size(DType::kF64), 8u);
  EXPECT_EQ(dtype_size(DType::kF16), 2u);
  EXPECT_EQ(dtype_size(DType::kBool), 1u);
  EXPECT_THROW(parse_dtype("F8_E4M3"), FormatError);
  EXPECT_THROW(parse_dtype("f32"), FormatError);
}

TEST(Tensor, OwnedIsZeroFilledAndWritable) {
  Tensor t(DType::kF32, {2, 3});
  EXPECT_FALSE(t.empty());
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(t.shape_string(), "[2, 3]");
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.0f);
  t.mutable_span<float>()[4] = 2.5f;
  EXPECT_EQ(t.span<float>()[4], 2.5f);
  EXPECT_THROW(t.span<double>(), InvalidArgument);
}

TEST(Tensor, ScalarAndZeroSized) {
  Tensor scalar(DType::kI64, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.shape_string(), "[]");
  Tensor nothing(DType::kF32, {0, 5});
  EXPECT_EQ(nothing.numel(), 0);
  EXPECT_FALSE(nothing.empty());
  EXPECT_TRUE(Tensor().empty());
}

TEST(Tensor, BadShapesAreRejected) {
  EXPECT_THROW(Tensor(DType::kF32, {2, -1}), InvalidArgument);
  EXPECT_THROW(Tensor(DType::kF32, {1LL << 40, 1LL << 40}), InvalidArgument);
  const float values[3] = {1, 2, 3};
  EXPECT_THROW(Tensor::from<float>({2, 2}, values), InvalidArgument);
}

TEST(Tensor, FromCopiesValues) {
  const std::int64_t values[4] = {1, -2, 3, 1LL << 40};
  Tensor t = Tensor::from<std::int64_t>({2, 2}, values);
  EXPECT_EQ(t.dtype(), DType::kI64);
  EXPECT_EQ(t.span<std::int64_t>()[3], 1LL << 40);
  Tensor f = t.to_f32();
  EXPECT_EQ(f.span<float>()[1], -2.0f);
}

TEST(Tensor, ViewIsReadOnlyAndKeepsOwnerAlive) {
  auto storage = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  Tensor v =
      Tensor::view(DType::kF32, {4}, reinterpret_cast<const std::byte*>(storage->data()), storage);
  std::weak_ptr<std::vector<float>> weak = storage;
  storage.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(v.span<float>()[2], 3.0f);
  EXPECT_THROW(v.mutable_data(), InvalidArgument);
  Tensor copy = v.to_f32();
  copy.mutable_span<float>()[0] = 7;  // a copy is writable
  EXPECT_EQ(v.span<float>()[0], 1.0f);
  v = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(Tensor, CopiesShareBytesAndCloneDoesNot) {
  const float values[2] = {1, 2};
  Tensor a = Tensor::from<float>({2}, values);
  Tensor shared = a;
  shared.mutable_span<float>()[0] = 5;
  EXPECT_EQ(a.span<float>()[0], 5.0f);
  Tensor deep = a.clone();
  deep.mutable_span<float>()[1] = 9;
  EXPECT_EQ(a.span<float>()[1], 2.0f);
  EXPECT_EQ(deep.shape(), a.shape());
  EXPECT_TRUE(Tensor().clone().empty());
}

TEST(Tensor, HalfToFloatIsExactForEveryValue) {
  std::vector<std::uint16_t> all(65536);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  const Tensor f = halves(DType::kF16, all).to_f32();
  const auto values = f.span<float>();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto bits = all[i];
    const bool negative = bits & 0x8000;
    if (((bits >> 10) & 0x1F) == 0x1F) {
      if ((bits & 0x3FF) == 0) {
        EXPECT_EQ(values[i], negative ? -INFINITY : INFINITY) << i;
      } else {
        EXPECT_TRUE(std::isnan(values[i])) << i;
      }
      continue;
    }
    ASSERT_EQ(static_cast<double>(values[i]), ieee_half_value(bits)) << "half bits " << i;
    EXPECT_EQ(std::signbit(values[i]), negative) << i;
  }
  EXPECT_EQ(values[0x3C00], 1.0f);
  EXPECT_EQ(values[0x7BFF], 65504.0f);
  EXPECT_EQ(values[0x0001], std::ldexp(1.0f, -24));  // smallest subnormal
}

TEST(Tensor, BFloat16ToFloatIsExact) {
  const Tensor f =
      halves(DType::kBF16, {0x3F80, 0xC000, 0x0001, 0x7F80, 0xFF80, 0x7FC0, 0x8000, 0x7F7F})
          .to_f32();
  const auto v = f.span<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(v[2]), 0x00010000u);  // a float32 subnormal
  EXPECT_EQ(v[3], INFINITY);
  EXPECT_EQ(v[4], -INFINITY);
  EXPECT_TRUE(std::isnan(v[5]));
  EXPECT_TRUE(std::signbit(v[6]));
  EXPECT_EQ(std::bit_cast<std::uint32_t>(v[7]), 0x7F7F0000u);
}

TEST(Tensor, DoubleToFloatRounds) {
  const double values[3] = {0.1, -1e300, 1.0};
  const Tensor f = Tensor::from<double>({3}, values).to_f32();
  EXPECT_EQ(f.span<float>()[0], 0.1f);
  EXPECT_EQ(f.span<float>()[1], -INFINITY);
  EXPECT_EQ(f.span<float>()[2], 1.0f);
}

}  // namespace
}  // namespace bertkit
