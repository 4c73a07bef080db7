// A minimal "{}" formatter for error messages ({} and hex {:X} / {:02X} / {:04X}), so the
// library needs no formatting dependency.
#pragma once

#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace bertkit::tok {

namespace detail {

inline void format_rest(std::ostringstream& out, std::string_view f) { out << f; }

template <class T, class... Rest>
void format_rest(std::ostringstream& out, std::string_view f, const T& value, const Rest&... rest) {
  const std::size_t open = f.find('{');
  if (open == std::string_view::npos) {
    out << f;
    return;
  }
  const std::size_t close = f.find('}', open);
  out << f.substr(0, open);
  const std::string_view spec = f.substr(open + 1, close - open - 1);
  if (!spec.empty() && spec.back() == 'X') {
    const int width = spec.size() > 2 ? std::stoi(std::string(spec.substr(1, spec.size() - 2))) : 0;
    if constexpr (std::is_integral_v<T>) {
      out << std::uppercase << std::hex << std::setw(width) << std::setfill('0')
          << static_cast<unsigned long long>(value) << std::dec << std::setfill(' ');
    } else {
      out << value;
    }
  } else {
    out << value;
  }
  format_rest(out, f.substr(close + 1), rest...);
}

}  // namespace detail

template <class... Args>
std::string format(std::string_view f, const Args&... args) {
  std::ostringstream out;
  detail::format_rest(out, f, args...);
  return out.str();
}

}  // namespace bertkit::tok
