// Errors: bertkit reports every failure by throwing one of these, with a message that says what
// was wrong and where (file, byte offset, tensor name...). Nothing is reported by return codes.
#pragma once

#include <stdexcept>
#include <string>

namespace bertkit {

// Base of every bertkit error; catch this at the top of a program.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller passed something unusable (a bad option, a shape that does not fit, an unknown id).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file or text is malformed: invalid UTF-8, a corrupt safetensors header, a bad config.json.
class FormatError : public Error {
 public:
  using Error::Error;
};

// The file system or network failed: a missing file, a short read, a refused download.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace bertkit
