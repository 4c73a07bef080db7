#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <cstring>

namespace bertkit::tok {

void AddedTokenSplitter::add(std::string content, std::int32_t id) {
  if (content.empty()) return;
  for (auto& [text, existing] : tokens_) {
    if (text == content) {
      existing = id;
      return;
    }
  }
  first_byte_[static_cast<unsigned char>(content[0])] = true;
  const int distinct =
      static_cast<int>(std::count(std::begin(first_byte_), std::end(first_byte_), true));
  single_first_byte_ = distinct == 1 ? static_cast<unsigned char>(content[0]) : -1;
  tokens_.emplace_back(std::move(content), id);
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void AddedTokenSplitter::split(std::string_view text, std::vector<Segment>& out) const {
  out.clear();
  std::size_t plain_start = 0;
  std::size_t pos = 0;
  const std::size_t n = text.size();
  while (pos < n) {
    if (single_first_byte_ >= 0) {
      // The usual case (BERT's specials all start with '['): let memchr skip ahead.
      const void* hit = std::memchr(text.data() + pos, single_first_byte_, n - pos);
      if (hit == nullptr) break;
      pos = static_cast<const char*>(hit) - text.data();
    } else if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const std::pair<std::string, std::int32_t>* hit = nullptr;
    for (const auto& token : tokens_) {
      if (text.compare(pos, token.first.size(), token.first) == 0) {
        hit = &token;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    if (plain_start < pos) {
      out.push_back({static_cast<std::uint32_t>(plain_start), static_cast<std::uint32_t>(pos), -1});
    }
    const std::size_t end = pos + hit->first.size();
    out.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(end), hit->second});
    pos = plain_start = end;
  }
  if (plain_start < n) {
    out.push_back({static_cast<std::uint32_t>(plain_start), static_cast<std::uint32_t>(n), -1});
  }
}

}  // namespace bertkit::tok
