#include "bertkit/tensor.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "core/half.h"

namespace bertkit {

static_assert(std::endian::native == std::endian::little,
              "tensor bytes are little-endian on disk and in memory");

namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4},   {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8},   {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},   {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  throw InvalidArgument("unknown DType value " + std::to_string(static_cast<int>(dtype)));
}

// Storage is 64-byte aligned so that any element type (and SIMD loads) can read it.
constexpr std::size_t kAlignment = 64;

std::shared_ptr<std::byte> allocate_zeroed(std::size_t nbytes) {
  // A zero-element tensor still gets a valid pointer, so that empty() means "no tensor".
  const std::size_t size = nbytes == 0 ? 1 : nbytes;
  auto* raw = static_cast<std::byte*>(::operator new (size, std::align_val_t{kAlignment}));
  std::memset(raw, 0, size);
  return {raw, [](std::byte* p) { ::operator delete (p, std::align_val_t{kAlignment}); }};
}

template <class T>
void convert_to_f32(const std::byte* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    T value;
    std::memcpy(&value, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(value);
  }
}

}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::size_t dtype_size(DType dtype) { return info(dtype).size; }

DType parse_dtype(std::string_view name) {
  for (const auto& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  throw FormatError("unknown dtype \"" + std::string(name) +
                    "\" (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)");
}

static std::int64_t checked_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw InvalidArgument("negative dimension in shape");
    if (__builtin_mul_overflow(n, d, &n)) throw InvalidArgument("shape overflows int64");
  }
  return n;
}

static std::size_t checked_nbytes(DType dtype, const std::vector<std::int64_t>& shape) {
  const std::int64_t n = checked_numel(shape);
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::size_t>(n), dtype_size(dtype), &bytes) ||
      bytes > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
    throw InvalidArgument("tensor byte size overflows");
  }
  return bytes;
}

Tensor::Tensor(DType dtype, std::vector<std::int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  auto storage = allocate_zeroed(checked_nbytes(dtype_, shape_));
  data_ = storage.get();
  owner_ = std::move(storage);
  writable_ = true;
}

Tensor Tensor::view(DType dtype, std::vector<std::int64_t> shape, const std::byte* data,
                    std::shared_ptr<const void> owner) {
  checked_nbytes(dtype, shape);
  if (data == nullptr) throw InvalidArgument("Tensor::view over a null pointer");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.owner_ = std::move(owner);
  t.writable_ = false;
  return t;
}

template <class T>
Tensor Tensor::from(std::vector<std::int64_t> shape, std::span<const T> values) {
  Tensor t(dtype_of<T>(), std::move(shape));
  if (static_cast<std::size_t>(t.numel()) != values.size()) {
    throw InvalidArgument("Tensor::from: shape " + t.shape_string() + " holds " +
                          std::to_string(t.numel()) + " elements but " +
                          std::to_string(values.size()) + " values were given");
  }
  if (!values.empty()) std::memcpy(t.mutable_data(), values.data(), values.size_bytes());
  return t;
}

template Tensor Tensor::from<float>(std::vector<std::int64_t>, std::span<const float>);
template Tensor Tensor::from<double>(std::vector<std::int64_t>, std::span<const double>);
template Tensor Tensor::from<std::int64_t>(std::vector<std::int64_t>,
                                           std::span<const std::int64_t>);
template Tensor Tensor::from<std::int32_t>(std::vector<std::int64_t>,
                                           std::span<const std::int32_t>);
template Tensor Tensor::from<std::uint8_t>(std::vector<std::int64_t>,
                                           std::span<const std::uint8_t>);

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape_) n *= d;  // validated when the tensor was made
  return n;
}

std::byte* Tensor::mutable_data() {
  if (!writable_) {
    throw InvalidArgument("tensor " + shape_string() +
                          " is a read-only view (of a memory-mapped file); copy it to write");
  }
  return const_cast<std::byte*>(data_);
}

Tensor Tensor::to_f32() const {
  if (empty()) throw InvalidArgument("to_f32 on an empty tensor");
  Tensor out(DType::kF32, shape_);
  float* dst = reinterpret_cast<float*>(out.mutable_data());
  const auto n = static_cast<std::size_t>(numel());
  switch (dtype_) {
    case DType::kF32:
      if (n != 0) std::memcpy(dst, data_, n * sizeof(float));
      break;
    case DType::kF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t bits;
        std::memcpy(&bits, data_ + 2 * i, 2);
        dst[i] = half_to_float(bits);
      }
      break;
    case DType::kBF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t bits;
        std::memcpy(&bits, data_ + 2 * i, 2);
        dst[i] = bf16_to_float(bits);
      }
      break;
    case DType::kF64:
      convert_to_f32<double>(data_, dst, n);
      break;
    case DType::kI64:
      convert_to_f32<std::int64_t>(data_, dst, n);
      break;
    case DType::kI32:
      convert_to_f32<std::int32_t>(data_, dst, n);
      break;
    case DType::kI16:
      convert_to_f32<std::int16_t>(data_, dst, n);
      break;
    case DType::kI8:
      convert_to_f32<std::int8_t>(data_, dst, n);
      break;
    case DType::kU8:
      convert_to_f32<std::uint8_t>(data_, dst, n);
      break;
    case DType::kBool:
      for (std::size_t i = 0; i < n; ++i) dst[i] = data_[i] != std::byte{0} ? 1.0f : 0.0f;
      break;
  }
  return out;
}

Tensor Tensor::clone() const {
  if (empty()) return Tensor();
  Tensor out(dtype_, shape_);
  if (nbytes() != 0) std::memcpy(out.mutable_data(), data_, nbytes());
  return out;
}

std::string Tensor::shape_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape_.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(shape_[i]);
  }
  return s + "]";
}

void Tensor::check_dtype(DType wanted) const {
  if (wanted != dtype_) {
    throw InvalidArgument("tensor " + shape_string() + " has dtype " +
                          std::string(dtype_name(dtype_)) + ", not " +
                          std::string(dtype_name(wanted)));
  }
}

}  // namespace bertkit
