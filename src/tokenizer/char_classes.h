// Character predicates of transformers' BasicTokenizer (tokenization_bert.py), on code points.
// Unicode categories come from utf8proc; ASCII is answered without it.
#pragma once

namespace bertkit::tok {

// _is_punctuation: every ASCII non-alphanumeric printable, plus Unicode categories P*.
bool is_punctuation(char32_t c);
// _is_control: categories C* (Cc, Cf, Cn, Co, Cs) except \t \n \r, which count as whitespace.
bool is_control(char32_t c);
// _is_whitespace: space, \t, \n, \r and category Zs.
bool is_bert_whitespace(char32_t c);
// Python's str.isspace(), which str.split() uses.
bool is_python_space(char32_t c);
// _is_chinese_char: the CJK Unified Ideograph blocks (not kana, not Hangul).
bool is_cjk(char32_t c);
// Category Mn, what _run_strip_accents removes after NFD.
bool is_nonspacing_mark(char32_t c);

// Python's str.lower() of one character: the simple lower-case mapping, except U+0130 (the only
// unconditional multi-character lower-case mapping), which becomes "i" + U+0307. Writes one or
// two code points to out and returns how many.
int lower_char(char32_t c, char32_t out[2]);

}  // namespace bertkit::tok
