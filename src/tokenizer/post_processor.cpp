#include "tokenizer/post_processor.h"

#include <algorithm>

namespace bertkit::tok {

namespace {

void drop_front(TokenSequence& s, std::size_t n) {
  s.ids.erase(s.ids.begin(), s.ids.begin() + static_cast<std::ptrdiff_t>(n));
  s.offsets.erase(s.offsets.begin(), s.offsets.begin() + static_cast<std::ptrdiff_t>(n));
}

void drop_back(TokenSequence& s, std::size_t n) {
  s.ids.resize(s.ids.size() - n);
  s.offsets.resize(s.offsets.size() - n);
}

void drop(TokenSequence& s, std::size_t n, bool from_left) {
  n = std::min(n, s.size());
  if (from_left) {
    drop_front(s, n);
  } else {
    drop_back(s, n);
  }
}

template <class T>
void pad_vector(std::vector<T>& v, std::size_t n, const T& value, bool left) {
  v.insert(left ? v.begin() : v.end(), n, value);
}

}  // namespace

void truncate_sequences(TokenSequence& first, TokenSequence* second, std::size_t num_to_remove,
                        Truncation strategy, bool from_left) {
  if (num_to_remove == 0) return;
  if (strategy == Truncation::kOnlyFirst ||
      (strategy == Truncation::kLongestFirst && second == nullptr)) {
    if (first.size() > num_to_remove) drop(first, num_to_remove, from_left);
  } else if (strategy == Truncation::kLongestFirst) {
    // One token at a time from the longer sequence; ties shorten the second.
    for (std::size_t i = 0; i < num_to_remove; ++i) {
      if (first.size() > second->size()) {
        drop(first, 1, from_left);
      } else {
        drop(*second, 1, from_left);
      }
    }
  } else if (strategy == Truncation::kOnlySecond && second != nullptr) {
    if (second->size() > num_to_remove) drop(*second, num_to_remove, from_left);
  }
}

Encoding assemble(const TokenSequence& first, const TokenSequence* second, bool add_special_tokens,
                  const SpecialIds& ids) {
  Encoding e;
  const std::size_t total =
      first.size() + (second ? second->size() : 0) + (add_special_tokens ? (second ? 3 : 2) : 0);
  e.input_ids.reserve(total);
  e.token_type_ids.reserve(total);
  e.special_tokens_mask.reserve(total);
  e.offset_mapping.reserve(total);
  e.sequence_ids.reserve(total);
  auto add_special = [&](std::int32_t id, std::int32_t type) {
    e.input_ids.push_back(id);
    e.token_type_ids.push_back(type);
    e.special_tokens_mask.push_back(1);
    e.offset_mapping.emplace_back(0, 0);
    e.sequence_ids.push_back(-1);
  };
  auto add_sequence = [&](const TokenSequence& s, std::int32_t type, std::int32_t seq) {
    e.input_ids.insert(e.input_ids.end(), s.ids.begin(), s.ids.end());
    e.token_type_ids.insert(e.token_type_ids.end(), s.size(), type);
    e.special_tokens_mask.insert(e.special_tokens_mask.end(), s.size(), 0);
    e.offset_mapping.insert(e.offset_mapping.end(), s.offsets.begin(), s.offsets.end());
    e.sequence_ids.insert(e.sequence_ids.end(), s.size(), seq);
  };
  if (add_special_tokens) {
    add_special(ids.cls, 0);
    add_sequence(first, 0, 0);
    add_special(ids.sep, 0);
    if (second) {
      add_sequence(*second, 1, 1);
      add_special(ids.sep, 1);
    }
  } else {
    add_sequence(first, 0, 0);
    if (second) add_sequence(*second, 0, 1);
  }
  e.attention_mask.assign(e.input_ids.size(), 1);
  return e;
}

void pad_encoding(Encoding& e, std::size_t length, std::optional<std::size_t> pad_to_multiple_of,
                  bool left, std::int32_t pad_id) {
  if (pad_to_multiple_of && *pad_to_multiple_of > 0 && length % *pad_to_multiple_of != 0) {
    length = (length / *pad_to_multiple_of + 1) * *pad_to_multiple_of;
  }
  if (length <= e.size()) return;
  const std::size_t n = length - e.size();
  pad_vector(e.input_ids, n, pad_id, left);
  pad_vector(e.token_type_ids, n, std::int32_t{0}, left);
  pad_vector(e.attention_mask, n, std::int32_t{0}, left);
  pad_vector(e.special_tokens_mask, n, std::int32_t{1}, left);
  pad_vector(e.offset_mapping, n, std::pair<std::size_t, std::size_t>{0, 0}, left);
  pad_vector(e.sequence_ids, n, std::int32_t{-1}, left);
}

}  // namespace bertkit::tok
