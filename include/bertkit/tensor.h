// Host tensors as they are read from and written to Hugging Face files: a dtype, a shape and
// contiguous row-major little-endian bytes. The model keeps its own flat float32 arenas
// (src/model); this type is the currency of file I/O and of the public outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/error.h"

namespace bertkit {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view dtype_name(DType dtype);  // the safetensors spelling: "F32", "BF16", "I64", ...
DType parse_dtype(std::string_view name);  // inverse of dtype_name; FormatError if unknown
std::size_t dtype_size(DType dtype);       // bytes per element

template <class T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kF32; }
template <> constexpr DType dtype_of<double>() { return DType::kF64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::kI64; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::kI32; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::kU8; }

// Copying a Tensor is shallow: copies share the bytes (as torch tensors do); clone() makes an
// independent, writable copy.
class Tensor {
 public:
  Tensor() = default;
  // A zero-filled tensor that owns its bytes.
  Tensor(DType dtype, std::vector<std::int64_t> shape);
  // A tensor over bytes owned by someone else (a memory-mapped file); `owner` keeps them alive.
  static Tensor view(DType dtype, std::vector<std::int64_t> shape, const std::byte* data,
                     std::shared_ptr<const void> owner);
  // Copies `values` into a new owned tensor of the given shape (numel must match).
  template <class T>
  static Tensor from(std::vector<std::int64_t> shape, std::span<const T> values);

  DType dtype() const { return dtype_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t dim(std::size_t i) const { return shape_.at(i); }
  std::size_t rank() const { return shape_.size(); }
  std::int64_t numel() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr; }

  const std::byte* data() const { return data_; }
  std::byte* mutable_data();  // InvalidArgument on a read-only view

  template <class T>
  std::span<const T> span() const {
    check_dtype(dtype_of<T>());
    return {reinterpret_cast<const T*>(data_), static_cast<std::size_t>(numel())};
  }
  template <class T>
  std::span<T> mutable_span() {
    check_dtype(dtype_of<T>());
    return {reinterpret_cast<T*>(mutable_data()), static_cast<std::size_t>(numel())};
  }

  // A float32 copy (F16, BF16, F64 converted; F32 copied).
  Tensor to_f32() const;
  // A deep copy in owned, writable storage, of the same dtype and shape.
  Tensor clone() const;
  std::string shape_string() const;  // "[3, 12, 32]"

 private:
  void check_dtype(DType wanted) const;

  DType dtype_ = DType::kF32;
  std::vector<std::int64_t> shape_;
  std::shared_ptr<const void> owner_;
  const std::byte* data_ = nullptr;
  bool writable_ = false;
};

// A state dict: HF parameter name -> tensor. Ordered, so files are written deterministically.
using StateDict = std::map<std::string, Tensor>;

}  // namespace bertkit
