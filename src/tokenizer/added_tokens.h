// Splits added / special tokens out of raw text before anything else happens to it (HF's
// tokens_trie.split): the leftmost occurrence wins, and among tokens starting there the longest.
// Matching is exact (case-sensitive), so "[MASK]" is a token and "[mask]" is ordinary text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bertkit::tok {

struct Segment {
  std::uint32_t begin, end;  // bytes of the text
  std::int32_t added_id;     // the added token's id, or -1 for ordinary text
};

class AddedTokenSplitter {
 public:
  void add(std::string content, std::int32_t id);
  bool empty() const { return tokens_.empty(); }

  // Replaces out with the segments of text, in order, covering all of it.
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  // Sorted longest first, so the first match at a position is the longest.
  std::vector<std::pair<std::string, std::int32_t>> tokens_;
  bool first_byte_[256] = {};
  int single_first_byte_ = -1;  // the only first byte of all tokens, if there is just one
};

}  // namespace bertkit::tok
