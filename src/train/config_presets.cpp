// The named model shapes `bertkit init` starts from. Kept apart from src/model/config.cpp so the
// presets can grow without touching the config reader.
#include <algorithm>
#include <string>

#include "bertkit/config.h"
#include "bertkit/error.h"

namespace bertkit {

namespace {

BertConfig with_shape(std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                      std::int64_t intermediate) {
  BertConfig c;
  c.num_hidden_layers = layers;
  c.hidden_size = hidden;
  c.num_attention_heads = heads;
  c.intermediate_size = intermediate;
  return c;
}

}  // namespace

BertConfig BertConfig::bert_mini() { return with_shape(4, 256, 4, 1024); }
BertConfig BertConfig::bert_tiny() { return with_shape(2, 128, 2, 512); }

BertConfig BertConfig::preset(std::string_view name) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '_', '-');
  if (key == "bert-base") return bert_base();
  if (key == "bert-mini") return bert_mini();
  if (key == "bert-tiny") return bert_tiny();
  throw InvalidArgument("unknown model preset '" + std::string(name) +
                        "' (known: bert-base, bert-mini, bert-tiny)");
}

}  // namespace bertkit
