// BertNormalizer's per-character transforms for words that contain non-ASCII text: Python's
// per-character lower-casing, NFC, and strip_accents (NFD, then drop category Mn). Every output
// character remembers the span of original code points it came from, for offset_mapping.
//
// The order follows transformers: PreTrainedTokenizer.tokenize lower-cases one character at a
// time (so no final-sigma rule), BasicTokenizer then applies NFC to the text and, per word,
// lower() and _run_strip_accents. NFD(NFC(x)) == NFD(x), so when accents are stripped the NFC
// step is skipped.
#pragma once

#include <cstdint>
#include <vector>

namespace bertkit::tok {

struct NormChar {
  char32_t c;
  std::uint32_t orig_begin;  // [orig_begin, orig_end) in code points of the original text
  std::uint32_t orig_end;
};

using NormString = std::vector<NormChar>;

// Python's `ch.lower()` for each character.
void lowercase_chars(const NormString& in, NormString& out);
// unicodedata.normalize("NFC", ...); a composed character spans all the characters it came from.
void compose_nfc(const NormString& in, NormString& out);
// _run_strip_accents: canonical decomposition of each character, then Mn removed.
void strip_accents(const NormString& in, NormString& out);

}  // namespace bertkit::tok
