// Unit tests of each tokenizer stage (src/tokenizer/): normaliser, pre-tokenizer, WordPiece,
// added-token split, truncation, padding, offsets, decode, UTF-8 validation. Expected values
// follow transformers 4.44.2's BertTokenizer code paths named in each test.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/tokenizer.h"
#include "support/paths.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece.h"

namespace {

using bertkit::BertTokenizer;
using bertkit::EncodeOptions;
using bertkit::Padding;
using bertkit::Truncation;
using Ids = std::vector<std::int32_t>;
using Strings = std::vector<std::string>;

const BertTokenizer& base() {
  static const BertTokenizer t =
      BertTokenizer::from_pretrained(bertkit::testing::fixture("bert-base-uncased"));
  return t;
}

std::u32string chars(const bertkit::tok::NormString& s) {
  std::u32string out;
  for (const auto& c : s) out.push_back(c.c);
  return out;
}

bertkit::tok::NormString norm(const std::u32string& s) {
  bertkit::tok::NormString out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    out.push_back({s[i], static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + 1)});
  }
  return out;
}

// Words of the basic tokenizer, as strings.
Strings basic_words(const std::string& text, bertkit::tok::BasicOptions o = {}) {
  bertkit::tok::BasicTokenizer basic(o, {});
  bertkit::tok::PreTokenized out;
  basic.split(text, 0, 0, out);
  Strings words;
  for (const auto& w : out.words) words.push_back(out.text.substr(w.begin, w.end - w.begin));
  return words;
}

// --- normaliser ---------------------------------------------------------------------------------

TEST(TokenizerNormalizer, LowercaseIsPerCharacterPythonLower) {
  bertkit::tok::NormString out;
  // U+0130 lower-cases to two code points; capital sigma has no final-sigma rule per character.
  bertkit::tok::lowercase_chars(norm(U"\u0130\u03A3A"), out);
  EXPECT_EQ(chars(out), U"i\u0307\u03C3a");
  EXPECT_EQ(out[1].orig_begin, 0u);  // both pieces of U+0130 point at it
  EXPECT_EQ(out[2].orig_begin, 1u);
}

TEST(TokenizerNormalizer, StripAccentsDecomposesAndDropsMn) {
  bertkit::tok::NormString out;
  bertkit::tok::strip_accents(norm(U"caf\u00E9 e\u0301"), out);
  EXPECT_EQ(chars(out), U"cafe e");
  EXPECT_EQ(out[3].orig_begin, 3u);
  // Devanagari vowel sign E (Mn) goes, AA (Mc) stays.
  bertkit::tok::strip_accents(norm(U"\u0928\u0947\u092A\u093E"), out);
  EXPECT_EQ(chars(out), U"\u0928\u092A\u093E");
}

TEST(TokenizerNormalizer, NfcComposesWithSpanningOffsets) {
  bertkit::tok::NormString out;
  bertkit::tok::compose_nfc(norm(U"e\u0301x"), out);
  ASSERT_EQ(chars(out), U"\u00E9x");
  EXPECT_EQ(out[0].orig_begin, 0u);
  EXPECT_EQ(out[0].orig_end, 2u);
  EXPECT_EQ(out[1].orig_begin, 2u);
}

// --- pre-tokenizer (BasicTokenizer) ------------------------------------------------------------

TEST(TokenizerPreTokenizer, SplitsWhitespaceAndPunctuation) {
  EXPECT_EQ(basic_words("Hello,  World!\tx$y"),
            (Strings{"hello", ",", "world", "!", "x", "$", "y"}));
  EXPECT_EQ(basic_words("don't"), (Strings{"don", "'", "t"}));
}

TEST(TokenizerPreTokenizer, CleanTextDropsControlsAndJoinsWords) {
  EXPECT_EQ(basic_words(std::string("hello\0world", 11)), (Strings{"helloworld"}));
  EXPECT_EQ(basic_words("zero\u200Bwidth soft\u00ADhyphen"), (Strings{"zerowidth", "softhyphen"}));
  EXPECT_EQ(basic_words("a\u00A0b\u3000c\u2028d"), (Strings{"a", "b", "c", "d"}));
}

TEST(TokenizerPreTokenizer, CjkIdeographsAreSingleWordsKanaIsNot) {
  EXPECT_EQ(basic_words("ab\u4E2D\u6587c"), (Strings{"ab", "\u4E2D", "\u6587", "c"}));
  EXPECT_EQ(basic_words("\u3072\u3089\u304C\u306A"), (Strings{"\u3072\u3089\u304B\u306A"}));
}

TEST(TokenizerPreTokenizer, UnicodePunctuationSplitsSymbolsDoNot) {
  EXPECT_EQ(basic_words("a\u2026b \u201Cq\u201D 5\u00B0C 3\u20AC"),
            (Strings{"a", "\u2026", "b", "\u201C", "q", "\u201D", "5\u00B0c", "3\u20AC"}));
}

TEST(TokenizerPreTokenizer, NoLowercaseKeepsCaseAndAccents) {
  bertkit::tok::BasicOptions o;
  o.lowercase = false;
  o.strip_accents = false;
  EXPECT_EQ(basic_words("Caf\u00E9 NAI\u0308VE", o), (Strings{"Caf\u00E9", "NA\u00CFVE"}));
}

// --- WordPiece ---------------------------------------------------------------------------------

class TokenizerWordPiece : public ::testing::Test {
 protected:
  const Strings vocab_{"[UNK]", "un", "##aff", "##able", "a", "##a", "\u00E9t\u00E9", "##s"};
  bertkit::tok::WordPiece wp_{vocab_, "##", 100, 0};

  Ids ids(const std::string& word) {
    std::vector<bertkit::tok::Piece> pieces;
    wp_.tokenize_word(word, 0, pieces);
    Ids out;
    for (const auto& p : pieces) out.push_back(p.id);
    return out;
  }
};

TEST_F(TokenizerWordPiece, GreedyLongestMatchFirst) {
  EXPECT_EQ(ids("unaffable"), (Ids{1, 2, 3}));
  EXPECT_EQ(ids("aaa"), (Ids{4, 5, 5}));
  EXPECT_EQ(ids("\u00E9t\u00E9s"), (Ids{6, 7}));  // multi-byte characters
}

TEST_F(TokenizerWordPiece, UnmatchableWordIsOneUnk) {
  EXPECT_EQ(ids("unaffablex"), (Ids{0}));  // a partial match is discarded
  EXPECT_EQ(ids("xyz"), (Ids{0}));
}

TEST_F(TokenizerWordPiece, MoreThan100CharactersIsUnk) {
  EXPECT_EQ(ids(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(ids(std::string(101, 'a')), (Ids{0}));
  // The limit counts characters, not bytes: "\u00E9t\u00E9" is 3 characters in 5 bytes.
  EXPECT_EQ(ids("\u00E9t\u00E9" + std::string(97, 's')).size(), 98u);
  EXPECT_EQ(ids("\u00E9t\u00E9" + std::string(98, 's')), (Ids{0}));
}

TEST(TokenizerWordPieceBase, BertBaseExamples) {
  EXPECT_EQ(
      base().tokenize("unaffable supercalifragilistic"),
      (Strings{"una", "##ffa", "##ble", "super", "##cal", "##if", "##rag", "##ilis", "##tic"}));
}

// --- added-token split -------------------------------------------------------------------------

TEST(TokenizerAddedTokens, LeftmostThenLongest) {
  bertkit::tok::AddedTokenSplitter s;
  s.add("[A]", 1);
  s.add("[A]B", 2);
  s.add("B[", 3);
  std::vector<bertkit::tok::Segment> out;
  s.split("xB[A]By[A]", out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].added_id, -1);  // "x"
  EXPECT_EQ(out[1].added_id, 3);   // "B[" starts first
  EXPECT_EQ(out[2].added_id, -1);  // "A]By"
  EXPECT_EQ(out[3].added_id, 1);
}

TEST(TokenizerAddedTokens, SpecialTokensKeptExactCaseOnly) {
  EXPECT_EQ(base().tokenize("a [MASK] b[SEP]c [mask]"),
            (Strings{"a", "[MASK]", "b", "[SEP]", "c", "[", "mask", "]"}));
}

TEST(TokenizerAddedTokens, NeverSplitKeepsWordsWhole) {
  bertkit::BertTokenizerConfig c;
  c.never_split = {"e.g.", "qwzx!"};
  const BertTokenizer t =
      BertTokenizer::from_vocab_file(bertkit::testing::fixture("bert-base-uncased/vocab.txt"), c);
  // BasicTokenizer keeps them unsplit; WordPiece leaves them alone (HF's _tokenize), so a word
  // outside the vocabulary shows as itself but encodes to [UNK]. "E.G." matches too: tokenize()
  // lower-cases everything but special tokens before the basic tokenizer sees it.
  EXPECT_EQ(t.tokenize("see E.G. qwzx! e.g."), (Strings{"see", "e.g.", "qwzx!", "e.g."}));
  EXPECT_EQ(t.encode("qwzx!", EncodeOptions{.add_special_tokens = false}).input_ids, (Ids{100}));
}

// --- truncation --------------------------------------------------------------------------------

EncodeOptions truncate_to(std::size_t n, Truncation t) {
  EncodeOptions o;
  o.truncation = t;
  o.max_length = n;
  return o;
}

// "a b c d e" is 5 tokens, "x y z" 3.
TEST(TokenizerTruncation, LongestFirstTakesFromTheLongerOneTokenAtATime) {
  const auto e = base().encode("a b c d e", "x y z", truncate_to(9, Truncation::kLongestFirst));
  EXPECT_EQ(base().convert_ids_to_tokens(e.input_ids),
            (Strings{"[CLS]", "a", "b", "c", "[SEP]", "x", "y", "z", "[SEP]"}));
  // Equal lengths: the second sequence loses first.
  const auto t = base().encode("a b c", "x y z", truncate_to(8, Truncation::kLongestFirst));
  EXPECT_EQ(base().convert_ids_to_tokens(t.input_ids),
            (Strings{"[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"}));
}

TEST(TokenizerTruncation, OnlyFirstAndOnlySecond) {
  const auto f = base().encode("a b c d e", "x y z", truncate_to(8, Truncation::kOnlyFirst));
  EXPECT_EQ(f.size(), 8u);
  EXPECT_EQ(f.token_type_ids, (Ids{0, 0, 0, 0, 1, 1, 1, 1}));
  const auto s = base().encode("a b c d e", "x y z", truncate_to(9, Truncation::kOnlySecond));
  EXPECT_EQ(base().convert_ids_to_tokens(s.input_ids),
            (Strings{"[CLS]", "a", "b", "c", "d", "e", "[SEP]", "x", "[SEP]"}));
}

TEST(TokenizerTruncation, ImpossibleTruncationLeavesInputAsHfDoes) {
  // only_second cannot remove 4 tokens from a 3-token pair: HF logs an error, returns untouched.
  const auto s = base().encode("a b c d e", "x y z", truncate_to(7, Truncation::kOnlySecond));
  EXPECT_EQ(s.size(), 11u);
  // A single text of 3 tokens cannot shed 4 (max_length 1 with [CLS] [SEP]).
  const auto one = base().encode("a b c", truncate_to(1, Truncation::kLongestFirst));
  EXPECT_EQ(one.size(), 5u);
}

TEST(TokenizerTruncation, UnsetMaxLengthWithoutModelMaximumDoesNotTruncate) {
  EncodeOptions o;
  o.truncation = Truncation::kLongestFirst;  // bert-base-uncased here has no model_max_length
  std::string text(600, 'a');                // one [UNK] word
  for (int i = 0; i < 600; ++i) text += " b";
  EXPECT_EQ(base().encode(text, o).size(), 603u);
}

TEST(TokenizerTruncation, FromTheLeftWhenTruncationSideIsLeft) {
  BertTokenizer t =
      BertTokenizer::from_vocab_file(bertkit::testing::fixture("bert-base-uncased/vocab.txt"), [] {
        bertkit::BertTokenizerConfig c;
        c.truncation_side_left = true;
        return c;
      }());
  const auto e = t.encode("a b c d e", truncate_to(5, Truncation::kLongestFirst));
  EXPECT_EQ(t.convert_ids_to_tokens(e.input_ids), (Strings{"[CLS]", "c", "d", "e", "[SEP]"}));
}

// --- padding -----------------------------------------------------------------------------------

TEST(TokenizerPadding, MaxLengthAndMultipleOf) {
  EncodeOptions o;
  o.padding = Padding::kMaxLength;
  o.max_length = 6;
  auto e = base().encode("a b", o);
  EXPECT_EQ(e.input_ids, (Ids{101, 1037, 1038, 102, 0, 0}));
  EXPECT_EQ(e.attention_mask, (Ids{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(e.special_tokens_mask, (Ids{1, 0, 0, 1, 1, 1}));
  o.padding = Padding::kLongest;
  o.max_length.reset();
  o.pad_to_multiple_of = 8;
  e = base().encode("a b", o);
  EXPECT_EQ(e.size(), 8u);
}

TEST(TokenizerPadding, LongestOnOneTextDoesNotPad) {
  EncodeOptions o;
  o.padding = Padding::kLongest;
  o.max_length = 10;
  EXPECT_EQ(base().encode("a b", o).size(), 4u);
}

TEST(TokenizerPadding, LeftPaddingSide) {
  bertkit::BertTokenizerConfig c;
  c.padding_side_left = true;
  BertTokenizer t =
      BertTokenizer::from_vocab_file(bertkit::testing::fixture("bert-base-uncased/vocab.txt"), c);
  const Strings texts{"a", "a b c"};
  EncodeOptions o;
  o.padding = Padding::kLongest;
  const auto b = t.encode_batch(texts, o);
  EXPECT_EQ(b[0].input_ids, (Ids{0, 0, 101, 1037, 102}));
  EXPECT_EQ(b[0].attention_mask, (Ids{0, 0, 1, 1, 1}));
}

TEST(TokenizerPadding, MaxLengthWithoutAnyLengthDoesNotPad) {
  EncodeOptions o;
  o.padding = Padding::kMaxLength;  // HF warns and does not pad without a model maximum
  EXPECT_EQ(base().encode("a b", o).size(), 4u);
}

TEST(TokenizerPadding, TruncationLengthMustBeAMultiple) {
  EncodeOptions o;
  o.padding = Padding::kMaxLength;
  o.truncation = Truncation::kLongestFirst;
  o.max_length = 10;
  o.pad_to_multiple_of = 8;
  EXPECT_THROW(base().encode("a", o), bertkit::InvalidArgument);
}

// --- offsets / sequence ids --------------------------------------------------------------------

TEST(TokenizerOffsets, CodePointSpansOfTheOriginalText) {
  const auto e = base().encode("H\u00E9llo, wor\x01ld [MASK] \u4E2D");
  using P = std::pair<std::size_t, std::size_t>;
  ASSERT_EQ(base().convert_ids_to_tokens(e.input_ids),
            (Strings{"[CLS]", "hello", ",", "world", "[MASK]", "\u4E2D", "[SEP]"}));
  EXPECT_EQ(e.offset_mapping,
            (std::vector<P>{{0, 0}, {0, 5}, {5, 6}, {7, 13}, {14, 20}, {21, 22}, {0, 0}}));
  EXPECT_EQ(e.sequence_ids, (Ids{-1, 0, 0, 0, 0, 0, -1}));
}

TEST(TokenizerOffsets, WordPiecesAndPairs) {
  const auto e = base().encode("unaffable", "ok");  // una ##ffa ##ble
  using P = std::pair<std::size_t, std::size_t>;
  EXPECT_EQ(e.offset_mapping,
            (std::vector<P>{{0, 0}, {0, 3}, {3, 6}, {6, 9}, {0, 0}, {0, 2}, {0, 0}}));
  EXPECT_EQ(e.sequence_ids, (Ids{-1, 0, 0, 0, -1, 1, -1}));
  EXPECT_EQ(e.token_type_ids, (Ids{0, 0, 0, 0, 0, 1, 1}));
}

// --- decode ------------------------------------------------------------------------------------

TEST(TokenizerDecode, MergesPiecesSkipsSpecialsCleansUp) {
  const Ids ids = base().encode("Unaffable, isn't it?").input_ids;
  EXPECT_EQ(base().decode(ids), "[CLS] unaffable, isn't it? [SEP]");
  EXPECT_EQ(base().decode(ids, true), "unaffable, isn't it?");
  EXPECT_EQ(base().decode(ids, true, false), "unaffable , isn ' t it ?");
  EXPECT_EQ(bertkit::tok::clean_up_tokenization("i 'm here . you 're n't"), "i'm here. you'ren't");
}

TEST(TokenizerDecode, UnknownIdsBecomeUnkAsInHf) {
  EXPECT_EQ(base().decode(Ids{1037, 999999}), "a [UNK]");
  EXPECT_THROW(base().convert_id_to_token(999999), bertkit::InvalidArgument);
}

// --- invalid UTF-8 -----------------------------------------------------------------------------

void expect_utf8_error(const std::string& text, std::size_t offset) {
  try {
    base().encode(text);
    ADD_FAILURE() << "no error for invalid UTF-8";
  } catch (const bertkit::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset " + std::to_string(offset)),
              std::string::npos)
        << e.what();
  }
}

TEST(TokenizerUtf8, InvalidInputThrowsFormatErrorWithByteOffset) {
  expect_utf8_error("ab\xE2\x82", 2);          // truncated at the end
  expect_utf8_error("ab\xE2\x82x", 2);         // truncated in the middle
  expect_utf8_error("a\xC0\xAF", 1);           // overlong 2-byte
  expect_utf8_error("abc\xE0\x80\xAF", 3);     // overlong 3-byte
  expect_utf8_error("\xF0\x82\x82\xAC", 0);    // overlong 4-byte
  expect_utf8_error("x\xED\xA0\x80", 1);       // surrogate U+D800
  expect_utf8_error("xy\xF4\x90\x80\x80", 2);  // U+110000
  expect_utf8_error("\xF5\x80\x80\x80", 0);    // lead byte beyond U+10FFFF
  expect_utf8_error("caf\xC3\xA9 \x80", 6);    // stray continuation byte
  expect_utf8_error("[CLS] \xFF", 6);          // after a special token
}

TEST(TokenizerUtf8, ValidEdgeCodePoints) {
  EXPECT_NO_THROW(bertkit::tok::validate_utf8("\xF4\x8F\xBF\xBF\xEF\xBF\xBF\xC2\x80"));
  EXPECT_NO_THROW(base().encode("\xF4\x8F\xBF\xBF"));
}

TEST(TokenizerOptions, ParseStrategies) {
  EXPECT_EQ(bertkit::parse_padding("max_length"), Padding::kMaxLength);
  EXPECT_EQ(bertkit::parse_truncation("only_second"), Truncation::kOnlySecond);
  EXPECT_THROW(bertkit::parse_padding("sideways"), bertkit::InvalidArgument);
  EXPECT_THROW(bertkit::parse_truncation("middle"), bertkit::InvalidArgument);
}

}  // namespace
