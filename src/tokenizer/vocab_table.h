// An open-addressing hash table from token text to id, looked up with string_views (no
// allocation per lookup). Each slot keeps a 16-byte fingerprint that identifies keys of up to 16
// bytes completely, so the usual lookup (a short word piece) never touches the key arena.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace bertkit::tok {

class VocabTable {
 public:
  // Later insertions of the same key overwrite earlier ones (as a Python dict does).
  void insert(std::string_view key, std::int32_t id);

  // -1 when absent.
  std::int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const Fingerprint f = fingerprint(key);
    // Most lookups of greedy longest-match are misses; a small bit filter (fits in L2) answers
    // them without touching the large slot array.
    const std::uint64_t bit = f.hash >> (64 - kFilterBits);
    if (!(filter_[bit >> 6] >> (bit & 63) & 1)) return -1;
    const auto len = static_cast<std::uint32_t>(key.size());
    for (std::size_t i = f.hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.a == f.a && s.b == f.b && s.len == len &&
          (len <= 16 || std::memcmp(arena_.data() + s.offset, key.data(), len) == 0)) {
        return s.id;
      }
    }
  }
  std::size_t size() const { return count_; }
  std::size_t max_key_length() const { return max_len_; }

 private:
  struct Fingerprint {
    std::uint64_t a, b, hash;
  };
  struct Slot {
    std::uint64_t a = 0, b = 0;
    std::uint32_t len = 0;
    std::int32_t id = -1;
    std::uint32_t offset = 0;
    std::uint32_t unused = 0;
  };

  static std::uint64_t load8(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static std::uint32_t load4(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  // Overlapping loads of the first and last bytes: together with the length they determine a
  // key of up to 16 bytes; longer keys also compare their bytes.
  static Fingerprint fingerprint(std::string_view key) {
    const char* p = key.data();
    const std::size_t n = key.size();
    std::uint64_t a, b;
    if (n >= 8) {
      a = load8(p);
      b = load8(p + n - 8);
    } else if (n >= 4) {
      a = load4(p);
      b = load4(p + n - 4);
    } else if (n > 0) {
      a = static_cast<unsigned char>(p[0]) |
          (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8);
      b = static_cast<unsigned char>(p[n - 1]);
    } else {
      a = b = 0;
    }
    std::uint64_t h = (a ^ (n * 0x9E3779B97F4A7C15ULL)) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (b + 0x165667B19E3779F9ULL) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return {a, b, h};
  }
  void grow();

  static constexpr int kFilterBits = 20;  // 128 KiB

  std::string arena_;
  std::vector<Slot> slots_;
  std::vector<std::uint64_t> filter_ = std::vector<std::uint64_t>((1u << kFilterBits) / 64, 0);
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
  std::size_t max_len_ = 0;
};

}  // namespace bertkit::tok
