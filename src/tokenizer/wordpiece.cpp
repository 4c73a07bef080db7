#include "tokenizer/wordpiece.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace bertkit::tok {

WordPiece::WordPiece(const std::vector<std::string>& vocab, std::string prefix,
                     std::size_t max_input_chars_per_word, std::int32_t unk_id)
    : prefix_(std::move(prefix)), max_chars_(max_input_chars_per_word), unk_id_(unk_id) {
  for (std::size_t id = 0; id < vocab.size(); ++id) {
    const std::string& token = vocab[id];
    full_.insert(token, static_cast<std::int32_t>(id));
    if (!prefix_.empty() && token.size() > prefix_.size() && token.starts_with(prefix_)) {
      continuation_.insert(std::string_view(token).substr(prefix_.size()),
                           static_cast<std::int32_t>(id));
    }
  }
}

void WordPiece::tokenize_word(std::string_view word, std::uint32_t begin,
                              std::vector<Piece>& out) const {
  const auto* s = reinterpret_cast<const unsigned char*>(word.data());
  const std::size_t n = word.size();
  // Python counts characters, not bytes; only count when the byte length could exceed it.
  if (n > max_chars_ && count_code_points(word) > max_chars_) {
    out.push_back({unk_id_, begin, begin + static_cast<std::uint32_t>(n)});
    return;
  }
  const std::size_t mark = out.size();
  std::size_t start = 0;
  while (start < n) {
    const VocabTable& table = (start == 0 || prefix_.empty()) ? full_ : continuation_;
    std::size_t end = std::min(n, start + table.max_key_length());
    std::int32_t id = -1;
    while (end > start) {
      // Only cut at character boundaries.
      if (end < n && is_utf8_continuation(s[end])) {
        --end;
        continue;
      }
      id = table.find(word.substr(start, end - start));
      if (id >= 0) break;
      --end;
    }
    if (id < 0) {
      out.resize(mark);
      out.push_back({unk_id_, begin, begin + static_cast<std::uint32_t>(n)});
      return;
    }
    out.push_back(
        {id, begin + static_cast<std::uint32_t>(start), begin + static_cast<std::uint32_t>(end)});
    start = end;
  }
}

}  // namespace bertkit::tok
