#include "tokenizer/decoder.h"

#include "tokenizer/char_classes.h"
#include "tokenizer/utf8.h"

namespace bertkit::tok {

namespace {

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  if (text.find(from) == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = text.find(from, pos)) != std::string::npos;
       pos = hit + from.size()) {
    out.append(text, pos, hit - pos);
    out.append(to);
  }
  out.append(text, pos);
  return out;
}

// The code point that ends just before byte `end` of valid UTF-8, and where it starts.
std::size_t previous_start(std::string_view s, std::size_t end) {
  std::size_t p = end - 1;
  while (p > 0 && is_utf8_continuation(static_cast<unsigned char>(s[p]))) --p;
  return p;
}

}  // namespace

std::string_view python_strip(std::string_view text) {
  std::size_t b = 0;
  while (b < text.size()) {
    std::size_t next = b;
    if (!is_python_space(decode_utf8(text, next))) break;
    b = next;
  }
  std::size_t e = text.size();
  while (e > b) {
    std::size_t start = previous_start(text, e);
    std::size_t probe = start;
    if (!is_python_space(decode_utf8(text, probe))) break;
    e = start;
  }
  return text.substr(b, e - b);
}

std::string join_word_pieces(const std::vector<std::string_view>& tokens, std::string_view prefix) {
  std::string joined;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) joined.push_back(' ');
    joined.append(tokens[i]);
  }
  std::string spaced_prefix(" ");
  spaced_prefix.append(prefix);
  joined = replace_all(std::move(joined), spaced_prefix, "");
  return std::string(python_strip(joined));
}

std::string clean_up_tokenization(std::string text) {
  static constexpr std::string_view kRules[][2] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& rule : kRules) text = replace_all(std::move(text), rule[0], rule[1]);
  return text;
}

}  // namespace bertkit::tok
