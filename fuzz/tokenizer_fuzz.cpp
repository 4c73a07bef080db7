// libFuzzer target for BertTokenizer: arbitrary bytes as a text, as a text pair, with options
// drawn from the first bytes, and as a list of ids to decode. Any result is fine; the only
// allowed errors are FormatError (invalid UTF-8) for texts and InvalidArgument for bad ids or
// option combinations. Anything else -- another exception, a crash, a sanitizer report -- is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/tokenizer.h"

namespace {

const bertkit::BertTokenizer& tokenizer() {
  static const auto t =
      bertkit::BertTokenizer::from_pretrained(BERTKIT_FIXTURES_DIR "/bert-base-uncased");
  return t;
}

// Consumes bytes from the front of the input: mode, option flags, a length, a pair cut point.
struct Reader {
  const std::uint8_t* data;
  std::size_t size;

  std::uint8_t byte() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
};

bertkit::EncodeOptions options_from(Reader& in) {
  const std::uint8_t flags = in.byte();
  const std::uint8_t length = in.byte();
  bertkit::EncodeOptions o;
  o.add_special_tokens = (flags & 1) != 0;
  o.padding = static_cast<bertkit::Padding>((flags >> 1) % 3);
  o.truncation = static_cast<bertkit::Truncation>((flags >> 3) % 4);
  if (flags & 0x20) o.max_length = length % 40;  // small, so truncation really cuts
  if (flags & 0x40) o.pad_to_multiple_of = 1 + length % 9;
  return o;
}

// Invariants every Encoding keeps, whatever the input: one entry per token in each field.
void check(const bertkit::Encoding& e) {
  const std::size_t n = e.input_ids.size();
  if (e.token_type_ids.size() != n || e.attention_mask.size() != n ||
      e.special_tokens_mask.size() != n || e.offset_mapping.size() != n ||
      e.sequence_ids.size() != n) {
    std::abort();
  }
}

void decode_ids(std::span<const std::uint8_t> bytes, bool skip_special, bool clean_up) {
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i + 2 <= bytes.size(); i += 2) {
    // Mostly valid ids (0..32767 covers the 30522-word vocab and beyond); a top bit makes a
    // negative id, which must be rejected too.
    const auto raw = static_cast<std::uint16_t>(bytes[i] | bytes[i + 1] << 8);
    ids.push_back(raw & 0x8000 ? -static_cast<std::int32_t>(raw & 0x7fff) - 1 : raw);
  }
  try {
    (void)tokenizer().decode(ids, skip_special, clean_up);
    (void)tokenizer().convert_ids_to_tokens(ids, skip_special);
  } catch (const bertkit::InvalidArgument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  const std::uint8_t mode = in.byte();
  const bertkit::EncodeOptions options = options_from(in);
  const std::uint8_t cut_at = in.byte();
  const std::string_view rest(reinterpret_cast<const char*>(in.data), in.size);

  try {
    switch (mode % 4) {
      case 0: {
        check(tokenizer().encode(rest, options));
        (void)tokenizer().tokenize(rest);
        break;
      }
      case 1: {
        // A pair of texts, cut where the fourth byte says (0 = empty first text).
        const std::size_t cut = cut_at * rest.size() / 255;
        check(tokenizer().encode(rest.substr(0, cut), rest.substr(cut), options));
        break;
      }
      case 2: {
        // A small batch of pieces separated by '\n', threaded, padded together.
        std::vector<std::string> texts;
        std::size_t start = 0;
        while (start <= rest.size() && texts.size() < 8) {
          std::size_t end = rest.find('\n', start);
          if (end == std::string_view::npos) end = rest.size();
          texts.emplace_back(rest.substr(start, end - start));
          start = end + 1;
        }
        const auto batch = tokenizer().encode_batch(texts, options, 1 + mode / 4 % 3);
        for (const auto& e : batch.encodings) check(e);
        break;
      }
      default:
        decode_ids(std::span(in.data, in.size), mode & 0x10, mode & 0x20);
        break;
    }
  } catch (const bertkit::FormatError&) {
    // Invalid UTF-8: the documented answer for such bytes.
  } catch (const bertkit::InvalidArgument&) {
    // Only option combinations may be rejected (HF raises for those too); a plain encode of any
    // valid text must succeed.
    if (options.truncation == bertkit::Truncation::kDoNotTruncate &&
        options.padding == bertkit::Padding::kDoNotPad) {
      std::abort();
    }
  }
  return 0;
}
