// `bertkit tokenize`: the tokenizer from the command line. Plain mode prints tokens and ids per
// text; --jsonl reads tokenizer_cases.jsonl-style requests (HF kwargs) and writes the fields
// transformers would return, one JSON line per request.
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/tokenizer.h"
#include "commands.h"

namespace bertkit::cli {

namespace {

using ojson = nlohmann::ordered_json;

struct TokenizeArgs {
  std::string model;
  std::vector<std::string> texts;
  std::optional<std::string> text_pair;
  std::optional<std::size_t> max_length;
  std::optional<std::size_t> pad_to_multiple_of;
  std::optional<std::string> padding;
  std::optional<std::string> truncation;
  bool no_special_tokens = false;
  bool offsets = false;
  bool jsonl = false;
  unsigned threads = 1;
};

// HF kwargs: padding / truncation are false, true or a strategy name.
Padding padding_kwarg(const ojson& v) {
  if (v.is_null()) return Padding::kDoNotPad;
  if (v.is_boolean()) return v.get<bool>() ? Padding::kLongest : Padding::kDoNotPad;
  if (v.is_string()) return parse_padding(v.get<std::string>());
  throw InvalidArgument("kwargs.padding must be false, true or a strategy name");
}

Truncation truncation_kwarg(const ojson& v) {
  if (v.is_null()) return Truncation::kDoNotTruncate;
  if (v.is_boolean()) return v.get<bool>() ? Truncation::kLongestFirst : Truncation::kDoNotTruncate;
  if (v.is_string()) return parse_truncation(v.get<std::string>());
  throw InvalidArgument("kwargs.truncation must be false, true or a strategy name");
}

EncodeOptions options_from_kwargs(const ojson& kwargs) {
  EncodeOptions o;
  if (!kwargs.is_object()) return o;
  if (kwargs.contains("add_special_tokens")) o.add_special_tokens = kwargs["add_special_tokens"];
  if (kwargs.contains("padding")) o.padding = padding_kwarg(kwargs["padding"]);
  if (kwargs.contains("truncation")) o.truncation = truncation_kwarg(kwargs["truncation"]);
  if (kwargs.contains("max_length") && !kwargs["max_length"].is_null()) {
    o.max_length = kwargs["max_length"].get<std::size_t>();
  }
  if (kwargs.contains("pad_to_multiple_of") && !kwargs["pad_to_multiple_of"].is_null()) {
    o.pad_to_multiple_of = kwargs["pad_to_multiple_of"].get<std::size_t>();
  }
  return o;
}

ojson tokens_json(const std::vector<std::string>& tokens) { return ojson(tokens); }

ojson handle_request(const BertTokenizer& tok, const ojson& req, unsigned threads) {
  ojson out = ojson::object();
  if (req.contains("id")) out["id"] = req["id"];
  const ojson kwargs = req.value("kwargs", ojson::object());
  if (req.contains("decode")) {
    const auto ids = req["decode"].get<std::vector<std::int32_t>>();
    const bool skip = kwargs.value("skip_special_tokens", false);
    const bool clean = kwargs.contains("clean_up_tokenization_spaces") &&
                               !kwargs["clean_up_tokenization_spaces"].is_null()
                           ? kwargs["clean_up_tokenization_spaces"].get<bool>()
                           : true;
    out["text"] = tok.decode(ids, skip, clean);
    out["tokens"] = tok.convert_ids_to_tokens(ids);
    return out;
  }
  const EncodeOptions options = options_from_kwargs(kwargs);
  if (req.contains("batch")) {
    std::vector<std::string> texts, pairs;
    bool paired = false;
    ojson tokens = ojson::array();
    for (const ojson& row : req["batch"]) {
      if (row.is_array()) {
        if (row.size() != 2) throw InvalidArgument("a batch pair must be [text, text_pair]");
        paired = true;
        texts.push_back(row[0].get<std::string>());
        pairs.push_back(row[1].get<std::string>());
        tokens.push_back(ojson::array({tok.tokenize(texts.back()), tok.tokenize(pairs.back())}));
      } else {
        texts.push_back(row.get<std::string>());
        tokens.push_back(tokens_json(tok.tokenize(texts.back())));
      }
    }
    if (paired && pairs.size() != texts.size()) {
      throw InvalidArgument("a batch must be all strings or all [text, text_pair] pairs");
    }
    const BatchEncoding batch = paired ? tok.encode_batch(texts, pairs, options, threads)
                                       : tok.encode_batch(texts, options, threads);
    ojson ids = ojson::array(), types = ojson::array(), mask = ojson::array();
    for (const Encoding& e : batch.encodings) {
      ids.push_back(e.input_ids);
      types.push_back(e.token_type_ids);
      mask.push_back(e.attention_mask);
    }
    out["tokens"] = tokens;
    out["input_ids"] = ids;
    out["token_type_ids"] = types;
    out["attention_mask"] = mask;
    return out;
  }
  if (!req.contains("text")) throw InvalidArgument("request has no text, batch or decode");
  const std::string text = req["text"].get<std::string>();
  out["tokens"] = tok.tokenize(text);
  Encoding e;
  if (req.contains("text_pair") && !req["text_pair"].is_null()) {
    const std::string pair = req["text_pair"].get<std::string>();
    out["tokens_pair"] = tok.tokenize(pair);
    e = tok.encode(text, pair, options);
  } else {
    e = tok.encode(text, options);
  }
  out["input_ids"] = e.input_ids;
  out["token_type_ids"] = e.token_type_ids;
  out["attention_mask"] = e.attention_mask;
  if (req.value("return_offsets_mapping", false)) out["offset_mapping"] = e.offset_mapping;
  return out;
}

int run_jsonl(const BertTokenizer& tok, unsigned threads) {
  std::string line;
  std::size_t line_no = 0;
  int status = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ojson out;
    try {
      out = handle_request(tok, ojson::parse(line), threads);
    } catch (const std::exception& e) {
      out = ojson{{"line", line_no}, {"error", e.what()}};
      status = 1;
    }
    std::cout << out.dump(-1, ' ', false, ojson::error_handler_t::replace) << "\n";
  }
  return status;
}

std::string join_ints(const std::vector<std::int32_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
  return s;
}

void print_encoding(const BertTokenizer& tok, const Encoding& e, bool offsets) {
  const auto tokens = tok.convert_ids_to_tokens(e.input_ids);
  std::string t;
  for (std::size_t i = 0; i < tokens.size(); ++i) t += (i ? " " : "") + tokens[i];
  std::cout << "tokens:         " << t << "\n"
            << "input_ids:      " << join_ints(e.input_ids) << "\n"
            << "token_type_ids: " << join_ints(e.token_type_ids) << "\n"
            << "attention_mask: " << join_ints(e.attention_mask) << "\n";
  if (offsets) {
    std::string o;
    for (std::size_t i = 0; i < e.offset_mapping.size(); ++i) {
      o += (i ? " (" : "(") + std::to_string(e.offset_mapping[i].first) + "," +
           std::to_string(e.offset_mapping[i].second) + ")";
    }
    std::cout << "offset_mapping: " << o << "\n";
  }
}

void run_tokenize(const TokenizeArgs& args) {
  const BertTokenizer tok = BertTokenizer::from_pretrained(args.model);
  if (args.jsonl) {
    std::cout.flush();
    if (run_jsonl(tok, args.threads) != 0) throw InvalidArgument("some --jsonl requests failed");
    return;
  }
  EncodeOptions o = tok.config().default_encode_options.value_or(EncodeOptions{});
  if (args.no_special_tokens) o.add_special_tokens = false;
  if (args.padding) o.padding = parse_padding(*args.padding);
  if (args.truncation) o.truncation = parse_truncation(*args.truncation);
  if (args.max_length) o.max_length = args.max_length;
  if (args.pad_to_multiple_of) o.pad_to_multiple_of = args.pad_to_multiple_of;
  std::vector<std::string> texts = args.texts;
  if (texts.empty()) {
    for (std::string line; std::getline(std::cin, line);) texts.push_back(line);
  }
  // Padding pads rows to each other, so the texts are encoded as one batch.
  BatchEncoding batch;
  if (args.text_pair) {
    const std::vector<std::string> pairs(texts.size(), *args.text_pair);
    batch = tok.encode_batch(texts, pairs, o, args.threads);
  } else {
    batch = tok.encode_batch(texts, o, args.threads);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i) std::cout << "\n";
    std::cout << "text:           " << texts[i] << "\n";
    if (args.text_pair) std::cout << "text_pair:      " << *args.text_pair << "\n";
    print_encoding(tok, batch[i], args.offsets);
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Tokenize texts like transformers' BertTokenizer (texts from arguments, else one "
      "per line on stdin)");
  cmd->add_option("--model", args->model, "model folder (vocab.txt / tokenizer.json)")->required();
  cmd->add_option("text", args->texts, "texts to tokenize");
  cmd->add_option("--text-pair", args->text_pair, "second sequence, paired with every text");
  cmd->add_option("--max-length", args->max_length, "max_length");
  cmd->add_option("--pad-to-multiple-of", args->pad_to_multiple_of, "pad_to_multiple_of");
  cmd->add_option("--padding", args->padding, "padding strategy")
      ->check(CLI::IsMember({"false", "longest", "max_length", "true", "do_not_pad"}));
  cmd->add_option("--truncation", args->truncation, "truncation strategy")
      ->check(CLI::IsMember(
          {"false", "true", "longest_first", "only_first", "only_second", "do_not_truncate"}));
  cmd->add_flag("--no-special-tokens", args->no_special_tokens, "add_special_tokens=False");
  cmd->add_flag("--offsets", args->offsets, "print offset_mapping (code points)");
  cmd->add_flag("--jsonl", args->jsonl,
                "read JSON Lines requests (tokenizer_cases.jsonl input format) on stdin, write "
                "one JSON result per line");
  cmd->add_option("--threads", args->threads, "threads for batches (0 = all cores)");
  cmd->callback([args] { run_tokenize(*args); });
}

}  // namespace bertkit::cli
