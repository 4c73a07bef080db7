#include "tokenizer/vocab_table.h"

#include <algorithm>

namespace bertkit::tok {

void VocabTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<std::size_t>(64, old.size() * 2), Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    const std::uint64_t h = hash(std::string_view(arena_.data() + s.offset, s.len));
    std::size_t i = h & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void VocabTable::insert(std::string_view key, std::int32_t id) {
  // Load factor <= 1/2 keeps probe sequences short.
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const std::uint64_t h = hash(key);
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  std::size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.id < 0) break;
    if (s.tag == tag && s.len == key.size() &&
        std::string_view(arena_.data() + s.offset, s.len) == key) {
      s.id = id;
      return;
    }
  }
  Slot& s = slots_[i];
  s.tag = tag;
  s.offset = static_cast<std::uint32_t>(arena_.size());
  s.len = static_cast<std::uint32_t>(key.size());
  s.id = id;
  arena_.append(key);
  ++count_;
  max_len_ = std::max(max_len_, key.size());
}

}  // namespace bertkit::tok
