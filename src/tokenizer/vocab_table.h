// An open-addressing hash table from token text to id, looked up with string_views (no
// allocation per lookup). Keys live in one arena string.
#pragma once

#include <cstdint>
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
    const std::uint64_t h = hash(key);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && s.len == key.size() &&
          std::string_view(arena_.data() + s.offset, s.len) == key) {
        return s.id;
      }
    }
  }
  std::size_t size() const { return count_; }
  std::size_t max_key_length() const { return max_len_; }

  static std::uint64_t hash(std::string_view key) {
    std::uint64_t h = 0xcbf29ce484222325ULL ^ key.size();
    for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
    std::int32_t id = -1;
  };
  void grow();

  std::string arena_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
  std::size_t max_len_ = 0;
};

}  // namespace bertkit::tok
