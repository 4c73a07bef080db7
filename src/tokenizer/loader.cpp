// Loading and saving tokenizer folders: vocab.txt + tokenizer_config.json (+
// special_tokens_map.json, added_tokens.json) as BertTokenizer.from_pretrained reads them, or
// tokenizer.json alone.
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bertkit/error.h"
#include "bertkit/hub.h"
#include "tokenizer/format.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace bertkit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(tok::format("cannot open {}", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(tok::format("error reading {}", path.string()));
  return ss.str();
}

json read_json(const fs::path& path) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(tok::format("{}: invalid JSON: {}", path.string(), e.what()));
  }
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw IoError(tok::format("cannot create {}", path.string()));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw IoError(tok::format("error writing {}", path.string()));
}

// A special token in a config: "[CLS]" or {"content": "[CLS]", ...} (AddedToken).
std::optional<std::string> token_string(const json& v, const fs::path& file, std::string_view key) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  throw FormatError(
      tok::format("{}: '{}' must be a string or an AddedToken object", file.string(), key));
}

template <class T>
T get_or(const json& j, const char* key, T fallback, const fs::path& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    throw FormatError(tok::format("{}: '{}' has the wrong type", file.string(), key));
  }
}

// HF stores "no limit" as a huge number (int(1e30)); anything that large means unset.
std::optional<std::size_t> max_length_value(const json& v) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  if (d <= 0 || d >= 1e20) return std::nullopt;
  return static_cast<std::size_t>(d);
}

void apply_special_tokens(BertTokenizerConfig& c, const json& j, const fs::path& file) {
  static const std::pair<const char*, std::string BertTokenizerConfig::*> kFields[] = {
      {"unk_token", &BertTokenizerConfig::unk_token},
      {"sep_token", &BertTokenizerConfig::sep_token},
      {"pad_token", &BertTokenizerConfig::pad_token},
      {"cls_token", &BertTokenizerConfig::cls_token},
      {"mask_token", &BertTokenizerConfig::mask_token},
  };
  for (const auto& [key, member] : kFields) {
    if (j.contains(key)) {
      if (auto s = token_string(j[key], file, key)) c.*member = *s;
    }
  }
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array()) {
    c.additional_special_tokens.clear();
    for (const json& t : j["additional_special_tokens"]) {
      if (auto s = token_string(t, file, "additional_special_tokens")) {
        c.additional_special_tokens.push_back(*s);
      }
    }
  }
}

void apply_tokenizer_config(BertTokenizerConfig& c, const json& j, const fs::path& file) {
  if (!j.is_object()) throw FormatError(tok::format("{}: expected a JSON object", file.string()));
  c.do_lower_case = get_or(j, "do_lower_case", c.do_lower_case, file);
  c.do_basic_tokenize = get_or(j, "do_basic_tokenize", c.do_basic_tokenize, file);
  c.tokenize_chinese_chars = get_or(j, "tokenize_chinese_chars", c.tokenize_chinese_chars, file);
  if (j.contains("strip_accents")) {
    c.strip_accents = j["strip_accents"].is_boolean()
                          ? std::optional(j["strip_accents"].get<bool>())
                          : std::nullopt;
  }
  if (j.contains("never_split") && j["never_split"].is_array()) {
    c.never_split = j["never_split"].get<std::vector<std::string>>();
  }
  apply_special_tokens(c, j, file);
  if (j.contains("model_max_length")) c.model_max_length = max_length_value(j["model_max_length"]);
  if (j.contains("padding_side")) c.padding_side_left = j["padding_side"] == "left";
  if (j.contains("truncation_side")) c.truncation_side_left = j["truncation_side"] == "left";
}

// added_tokens_decoder of tokenizer_config.json: {"id": {"content": ..., "special": ...}}.
void collect_added_tokens_decoder(const json& j, std::vector<AddedTokenSpec>& added,
                                  const fs::path& file) {
  if (!j.contains("added_tokens_decoder") || !j["added_tokens_decoder"].is_object()) return;
  for (const auto& [key, value] : j["added_tokens_decoder"].items()) {
    std::int32_t id;
    try {
      id = std::stoi(key);
    } catch (const std::exception&) {
      throw FormatError(
          tok::format("{}: added_tokens_decoder key '{}' is not an id", file.string(), key));
    }
    auto content = token_string(value, file, "added_tokens_decoder");
    if (!content) continue;
    added.push_back({*content, id, get_or(value, "special", false, file)});
  }
}

// vocab.txt: one token per line; id = line number. Python reads it in text mode, so "\r\n"
// and "\r" end lines too.
std::vector<std::string> read_vocab_txt(const fs::path& path) {
  const std::string text = read_file(path);
  std::vector<std::string> vocab;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      vocab.emplace_back(text, start, i - start);
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) vocab.emplace_back(text, start);
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    try {
      tok::validate_utf8(vocab[i]);
    } catch (const FormatError& e) {
      throw FormatError(tok::format("{} line {}: {}", path.string(), i + 1, e.what()));
    }
  }
  if (vocab.empty()) throw FormatError(tok::format("{}: empty vocabulary", path.string()));
  return vocab;
}

}  // namespace

BertTokenizer BertTokenizer::from_vocab_file(const fs::path& vocab_txt,
                                             BertTokenizerConfig config) {
  return BertTokenizer(std::make_unique<Impl>(read_vocab_txt(vocab_txt), std::move(config),
                                              std::vector<AddedTokenSpec>{}));
}

namespace {

// A hub repo id ("bert-base-uncased", "org/name") that is not a local path: only the tokenizer
// files are fetched (hub_download, cache first), not the weights. Returns their snapshot folder.
fs::path download_tokenizer_files(const std::string& repo_id) {
  static constexpr const char* kFiles[] = {"tokenizer_config.json", "vocab.txt", "tokenizer.json",
                                           "special_tokens_map.json", "added_tokens.json"};
  std::optional<fs::path> folder;
  std::optional<IoError> first_error;
  for (const char* name : kFiles) {
    // Each file is optional (offline with a partial cache included); fail only with none.
    try {
      if (auto path = hub_download(repo_id, name)) folder = path->parent_path();
    } catch (const IoError& e) {
      if (!first_error) first_error = e;
    }
  }
  if (!folder && first_error) throw *first_error;
  if (!folder) {
    throw IoError(
        tok::format("{}: neither a local folder nor a hub repo with tokenizer files", repo_id));
  }
  return *folder;
}

}  // namespace

BertTokenizer BertTokenizer::from_pretrained(const fs::path& name_or_dir) {
  fs::path dir = name_or_dir;
  const std::string name = name_or_dir.generic_string();
  // Like transformers: an existing path is a folder, otherwise a name on the hub.
  if (!fs::exists(dir) && !name.empty() && name.front() != '/' && name.front() != '.' &&
      std::count(name.begin(), name.end(), '/') <= 1) {
    dir = download_tokenizer_files(name);
  }
  const fs::path vocab_txt = dir / "vocab.txt";
  const fs::path config_json = dir / "tokenizer_config.json";
  const fs::path tokenizer_json = dir / "tokenizer.json";
  if (!fs::exists(vocab_txt)) {
    if (!fs::exists(tokenizer_json)) {
      throw IoError(tok::format("{}: no vocab.txt or tokenizer.json (is this a BERT model folder?)",
                                dir.string()));
    }
    BertTokenizer t = from_tokenizer_json(tokenizer_json);
    if (!fs::exists(config_json)) return t;
    const json j = read_json(config_json);
    BertTokenizerConfig c = t.impl_->config;
    // Settings that only tokenizer_config.json knows.
    if (j.contains("model_max_length"))
      c.model_max_length = max_length_value(j["model_max_length"]);
    if (j.contains("padding_side")) c.padding_side_left = j["padding_side"] == "left";
    if (j.contains("truncation_side")) c.truncation_side_left = j["truncation_side"] == "left";
    // BertTokenizerFast rebuilds the normalizer when tokenizer_config.json disagrees with it.
    bool renormalize = false;
    if (j.contains("do_lower_case") && j["do_lower_case"].is_boolean()) {
      renormalize |= c.do_lower_case != j["do_lower_case"].get<bool>();
      c.do_lower_case = j["do_lower_case"].get<bool>();
    }
    if (j.contains("strip_accents")) {
      const std::optional<bool> strip = j["strip_accents"].is_boolean()
                                            ? std::optional(j["strip_accents"].get<bool>())
                                            : std::nullopt;
      renormalize |= c.strip_accents != strip;
      c.strip_accents = strip;
    }
    if (j.contains("tokenize_chinese_chars") && j["tokenize_chinese_chars"].is_boolean()) {
      renormalize |= c.tokenize_chinese_chars != j["tokenize_chinese_chars"].get<bool>();
      c.tokenize_chinese_chars = j["tokenize_chinese_chars"].get<bool>();
    }
    if (!renormalize) {
      t.impl_->config = std::move(c);
      return t;
    }
    return BertTokenizer(std::make_unique<Impl>(t.impl_->vocab, std::move(c), t.impl_->added));
  }
  BertTokenizerConfig config;
  std::vector<AddedTokenSpec> added;
  if (fs::exists(config_json)) {
    const json j = read_json(config_json);
    apply_tokenizer_config(config, j, config_json);
    collect_added_tokens_decoder(j, added, config_json);
  }
  // As in from_pretrained, special_tokens_map.json overrides tokenizer_config.json.
  if (const fs::path p = dir / "special_tokens_map.json"; fs::exists(p)) {
    apply_special_tokens(config, read_json(p), p);
  }
  if (const fs::path p = dir / "added_tokens.json"; fs::exists(p)) {
    const json j = read_json(p);
    if (!j.is_object()) throw FormatError(tok::format("{}: expected an object", p.string()));
    for (const auto& [content, id] : j.items()) {
      if (!id.is_number_integer()) {
        throw FormatError(tok::format("{}: id of '{}' is not an integer", p.string(), content));
      }
      added.push_back({content, id.get<std::int32_t>(), false});
    }
  }
  return BertTokenizer(std::make_unique<Impl>(read_vocab_txt(vocab_txt), std::move(config), added));
}

BertTokenizer BertTokenizer::from_tokenizer_json(const fs::path& path) {
  const json j = read_json(path);
  auto bad = [&](std::string_view what) {
    return FormatError(tok::format("{}: {}", path.string(), what));
  };
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) throw bad("no \"model\"");
  const json& model = j["model"];
  if (model.value("type", "WordPiece") != "WordPiece") {
    throw bad(tok::format("model type '{}' is not WordPiece", model["type"].get<std::string>()));
  }
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw bad("model has no vocab");
  std::vector<std::string> vocab;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() > 100000000) {
      throw bad(tok::format("vocab id of '{}' is not a valid id", token));
    }
    const auto i = id.get<std::size_t>();
    if (i >= vocab.size()) vocab.resize(i + 1);
    vocab[i] = token;
  }
  BertTokenizerConfig c;
  c.unk_token = get_or<std::string>(model, "unk_token", c.unk_token, path);
  c.wordpiece_prefix = get_or<std::string>(model, "continuing_subword_prefix", "##", path);
  c.max_input_chars_per_word = get_or<std::size_t>(model, "max_input_chars_per_word", 100, path);

  if (j.contains("normalizer") && !j["normalizer"].is_null()) {
    const json& n = j["normalizer"];
    if (n.value("type", "") != "BertNormalizer") {
      throw bad(tok::format("normalizer '{}' is not supported (only BertNormalizer)",
                            n.value("type", "?")));
    }
    c.clean_text = get_or(n, "clean_text", true, path);
    c.tokenize_chinese_chars = get_or(n, "handle_chinese_chars", true, path);
    c.do_lower_case = get_or(n, "lowercase", true, path);
    if (n.contains("strip_accents") && n["strip_accents"].is_boolean()) {
      c.strip_accents = n["strip_accents"].get<bool>();
    }
  } else {
    c.clean_text = false;
    c.tokenize_chinese_chars = false;
    c.do_lower_case = false;
    c.strip_accents = false;
  }
  if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null() &&
      j["pre_tokenizer"].value("type", "") != "BertPreTokenizer") {
    throw bad(tok::format("pre_tokenizer '{}' is not supported (only BertPreTokenizer)",
                          j["pre_tokenizer"].value("type", "?")));
  }
  if (j.contains("post_processor") && j["post_processor"].is_object()) {
    const json& p = j["post_processor"];
    const std::string type = p.value("type", "");
    if (type == "BertProcessing") {
      if (p.contains("cls") && p["cls"].is_array()) c.cls_token = p["cls"][0].get<std::string>();
      if (p.contains("sep") && p["sep"].is_array()) c.sep_token = p["sep"][0].get<std::string>();
    } else if (type == "TemplateProcessing" && p.contains("single") && p["single"].is_array()) {
      std::vector<std::string> specials;
      for (const json& piece : p["single"]) {
        if (piece.contains("SpecialToken")) specials.push_back(piece["SpecialToken"]["id"]);
      }
      if (specials.size() >= 1) c.cls_token = specials.front();
      if (specials.size() >= 2) c.sep_token = specials.back();
    }
  }
  std::vector<AddedTokenSpec> added;
  bool has_mask = false;
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& t : j["added_tokens"]) {
      if (!t.contains("content") || !t.contains("id")) throw bad("added token without content/id");
      added.push_back({t["content"].get<std::string>(), t["id"].get<std::int32_t>(),
                       t.value("special", false)});
      has_mask |= added.back().content == c.mask_token;
    }
  }
  if (!has_mask) {
    bool in_vocab = false;
    for (const auto& t : vocab) in_vocab |= t == c.mask_token;
    if (!in_vocab) c.mask_token.clear();
  }
  EncodeOptions defaults;
  bool any_default = false;
  if (j.contains("truncation") && j["truncation"].is_object()) {
    const json& t = j["truncation"];
    any_default = true;
    const std::string strategy = t.value("strategy", "LongestFirst");
    defaults.truncation = strategy == "OnlyFirst"    ? Truncation::kOnlyFirst
                          : strategy == "OnlySecond" ? Truncation::kOnlySecond
                                                     : Truncation::kLongestFirst;
    if (t.contains("max_length")) defaults.max_length = max_length_value(t["max_length"]);
    c.truncation_side_left = t.value("direction", "Right") == "Left";
  }
  if (j.contains("padding") && j["padding"].is_object()) {
    const json& p = j["padding"];
    any_default = true;
    const json& strategy = p["strategy"];
    if (strategy.is_object() && strategy.contains("Fixed")) {
      defaults.padding = Padding::kMaxLength;
      if (!defaults.max_length) defaults.max_length = strategy["Fixed"].get<std::size_t>();
    } else {
      defaults.padding = Padding::kLongest;
    }
    if (p.contains("pad_to_multiple_of") && p["pad_to_multiple_of"].is_number_integer()) {
      defaults.pad_to_multiple_of = p["pad_to_multiple_of"].get<std::size_t>();
    }
    if (p.contains("pad_token") && p["pad_token"].is_string()) c.pad_token = p["pad_token"];
    c.padding_side_left = p.value("direction", "Right") == "Left";
  }
  if (any_default) c.default_encode_options = defaults;
  return BertTokenizer(std::make_unique<Impl>(std::move(vocab), std::move(c), added));
}

void BertTokenizer::save_pretrained(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(tok::format("cannot create {}: {}", dir.string(), ec.message()));
  const Impl& impl = *impl_;
  const BertTokenizerConfig& c = impl.config;

  std::string vocab_txt;
  for (const std::string& t : impl.vocab) {
    vocab_txt += t;
    vocab_txt += '\n';
  }
  write_file(dir / "vocab.txt", vocab_txt);

  json special = json::object();
  special["unk_token"] = c.unk_token;
  special["sep_token"] = c.sep_token;
  special["pad_token"] = c.pad_token;
  special["cls_token"] = c.cls_token;
  special["mask_token"] = c.mask_token;
  if (!c.additional_special_tokens.empty()) {
    special["additional_special_tokens"] = c.additional_special_tokens;
  }
  write_file(dir / "special_tokens_map.json", special.dump(2) + "\n");

  json config = special;
  config["tokenizer_class"] = "BertTokenizer";
  config["do_lower_case"] = c.do_lower_case;
  config["do_basic_tokenize"] = c.do_basic_tokenize;
  config["tokenize_chinese_chars"] = c.tokenize_chinese_chars;
  config["strip_accents"] = c.strip_accents ? json(*c.strip_accents) : json(nullptr);
  config["never_split"] = c.never_split.empty() ? json(nullptr) : json(c.never_split);
  config["clean_up_tokenization_spaces"] = true;
  // HF writes int(1e30) for "no limit".
  config["model_max_length"] =
      c.model_max_length ? json(*c.model_max_length) : json(1000000000000000019884624838656.0);
  config["padding_side"] = c.padding_side_left ? "left" : "right";
  config["truncation_side"] = c.truncation_side_left ? "left" : "right";
  json decoder = json::object();
  json beyond_vocab = json::object();
  std::map<std::int32_t, const AddedTokenSpec*> by_id;
  for (const AddedTokenSpec& a : impl.added) by_id[a.id] = &a;
  for (const auto& [id, a] : by_id) {
    decoder[std::to_string(id)] = {{"content", a->content}, {"lstrip", false},
                                   {"normalized", false},   {"rstrip", false},
                                   {"single_word", false},  {"special", a->special}};
    if (id >= static_cast<std::int32_t>(impl.vocab.size())) beyond_vocab[a->content] = id;
  }
  config["added_tokens_decoder"] = decoder;
  write_file(dir / "tokenizer_config.json", config.dump(2) + "\n");
  if (!beyond_vocab.empty()) write_file(dir / "added_tokens.json", beyond_vocab.dump(2) + "\n");
}

}  // namespace bertkit
