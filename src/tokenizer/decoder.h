// Tokens back to text, as BertTokenizer.convert_tokens_to_string and
// PreTrainedTokenizerBase.clean_up_tokenization do it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bertkit::tok {

// " ".join(tokens).replace(" ##", "").strip()
std::string join_word_pieces(const std::vector<std::string_view>& tokens,
                             std::string_view prefix = "##");

// " ." -> ".", " ?" -> "?", " !" -> "!", " ," -> ",", " ' " -> "'", " n't" -> "n't",
// " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve", " 're" -> "'re", in that order.
std::string clean_up_tokenization(std::string text);

// Python's str.strip() with no argument (Unicode whitespace).
std::string_view python_strip(std::string_view text);

}  // namespace bertkit::tok
