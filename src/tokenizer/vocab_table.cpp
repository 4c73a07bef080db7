#include "tokenizer/vocab_table.h"

#include <algorithm>

namespace bertkit::tok {

void VocabTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<std::size_t>(64, old.size() * 2), Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    const Fingerprint f = fingerprint(std::string_view(arena_.data() + s.offset, s.len));
    std::size_t i = f.hash & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void VocabTable::insert(std::string_view key, std::int32_t id) {
  // Load factor <= 1/2 keeps probe sequences short.
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const Fingerprint f = fingerprint(key);
  const auto len = static_cast<std::uint32_t>(key.size());
  std::size_t i = f.hash & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.id < 0) break;
    if (s.a == f.a && s.b == f.b && s.len == len &&
        std::string_view(arena_.data() + s.offset, s.len) == key) {
      s.id = id;
      return;
    }
  }
  const std::uint64_t bit = f.hash >> (64 - kFilterBits);
  filter_[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  Slot& s = slots_[i];
  s.a = f.a;
  s.b = f.b;
  s.len = len;
  s.id = id;
  s.offset = static_cast<std::uint32_t>(arena_.size());
  arena_.append(key);
  ++count_;
  max_len_ = std::max(max_len_, key.size());
}

}  // namespace bertkit::tok
