#include <string>

#include "bertkit/serialization.h"
#include "io/atomic_file.h"

namespace bertkit {

namespace {

std::string numpy_descr(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "<f4";
    case DType::kF16:
      return "<f2";
    case DType::kF64:
      return "<f8";
    case DType::kI64:
      return "<i8";
    case DType::kI32:
      return "<i4";
    case DType::kI16:
      return "<i2";
    case DType::kI8:
      return "|i1";
    case DType::kU8:
      return "|u1";
    case DType::kBool:
      return "|b1";
    case DType::kBF16:
      break;
  }
  throw InvalidArgument("NumPy has no bfloat16 dtype; convert the tensor with to_f32() first");
}

}  // namespace

// Format 1.0 as numpy.save writes it: magic, version, uint16 header length, then the repr of
// the header dict padded with spaces and a newline so that the data starts at a multiple of 64.
void save_npy(const std::filesystem::path& file, const Tensor& tensor) {
  if (tensor.empty())
    throw InvalidArgument("cannot save an empty (unset) tensor to " + file.string());
  std::string shape = "(";
  for (std::size_t i = 0; i < tensor.rank(); ++i) {
    if (i != 0) shape += ", ";
    shape += std::to_string(tensor.dim(i));
  }
  if (tensor.rank() == 1) shape += ",";
  shape += ")";
  std::string header = "{'descr': '" + numpy_descr(tensor.dtype()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  constexpr std::size_t kPrefix = 10;  // magic (6) + version (2) + header length (2)
  constexpr std::size_t kAlign = 64;
  // numpy adds a full 64 spaces when the length is already aligned; matching it keeps our
  // files identical to numpy's.
  header.append(kAlign - (kPrefix + header.size() + 1) % kAlign, ' ');
  header += '\n';
  if (header.size() > 0xFFFF) {
    throw InvalidArgument("shape " + tensor.shape_string() + " is too long for .npy format 1.0");
  }
  std::string prefix = "\x93NUMPY";
  prefix += '\x01';
  prefix += '\x00';
  prefix += static_cast<char>(header.size() & 0xFF);
  prefix += static_cast<char>(header.size() >> 8);

  io::AtomicFile out(file);
  out.write(prefix);
  out.write(header);
  out.write({tensor.data(), tensor.nbytes()});
  out.commit();
}

}  // namespace bertkit
