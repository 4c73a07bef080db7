// The first half of the reference notebook (shared/reference/notebook.txt) with bertkit:
// tokenize "i love kathmandu", add [CLS]/[SEP], pad to 7, build the attention mask, convert to
// ids, run BertModel with output_hidden_states and print what the notebook prints.
//
//   example_notebook_embeddings [MODEL_DIR_OR_HUB_NAME [TOKENIZER_DIR]]
//
// With no model (no pretrained weights are available offline) it builds a bert-base-shaped model
// with HF's random init, so the shapes match the notebook but the numbers do not.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bertkit/bertkit.h"
#include "bertkit/model.h"

namespace fs = std::filesystem;

// The bert-base-uncased vocabulary: the model folder, else the copies in the repo / shared data.
static fs::path find_tokenizer_dir(const char* argv0) {
  const fs::path exe_dir = fs::absolute(argv0).parent_path();
  for (const fs::path& p : {fs::path("tests/fixtures/bert-base-uncased"),
                            exe_dir / "../tests/fixtures/bert-base-uncased",
                            fs::path("../shared/models/bert-base-uncased-tokenizer"),
                            exe_dir / "../../shared/models/bert-base-uncased-tokenizer"}) {
    if (fs::exists(p / "vocab.txt")) return p;
  }
  throw bertkit::IoError("no bert-base-uncased vocab.txt found; pass MODEL_DIR [TOKENIZER_DIR]");
}

static void print_vector(const float* v, std::int64_t n) {
  std::printf("tensor([");
  for (std::int64_t i = 0; i < n; ++i) {
    std::printf("%s% .4e%s", i == 0 ? "" : (i % 5 == 0 ? "\n        " : " "), v[i],
                i + 1 < n ? "," : "])\n");
  }
}

int main(int argc, char** argv) {
  try {
    const bool have_model = argc > 1;
    fs::path tokenizer_dir = argc > 2 ? fs::path(argv[2]) : fs::path();
    bertkit::BertModel model = have_model
                                   ? bertkit::BertModel::from_pretrained(argv[1])
                                   : bertkit::BertModel::init(bertkit::BertConfig::bert_base(), 42);
    if (tokenizer_dir.empty()) {
      tokenizer_dir = have_model && fs::exists(fs::path(argv[1]) / "vocab.txt")
                          ? fs::path(argv[1])
                          : find_tokenizer_dir(argv[0]);
    }
    if (!have_model) std::printf("(no model given: bert-base shape, random HF init, seed 42)\n");
    const auto tokenizer = bertkit::BertTokenizer::from_pretrained(tokenizer_dir);

    const std::string example = "i love kathmandu";
    std::vector<std::string> tokens = tokenizer.tokenize(example);
    tokens.insert(tokens.begin(), "[CLS]");
    tokens.push_back("[SEP]");
    tokens.push_back("[PAD]");
    tokens.push_back("[PAD]");
    std::vector<std::int32_t> attn_mask;
    std::printf("tokens: [");
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::printf("%s'%s'", i ? ", " : "", tokens[i].c_str());
      attn_mask.push_back(tokens[i] == "[PAD]" ? 0 : 1);
    }
    const std::vector<std::int32_t> token_ids = tokenizer.convert_tokens_to_ids(tokens);
    std::printf("]\nattention mask: [");
    for (std::size_t i = 0; i < attn_mask.size(); ++i)
      std::printf("%s%d", i ? ", " : "", attn_mask[i]);
    std::printf("]\ntoken IDs: [");
    for (std::size_t i = 0; i < token_ids.size(); ++i)
      std::printf("%s%d", i ? ", " : "", token_ids[i]);
    std::printf("]\n");

    bertkit::ModelInput input;  // unsqueeze(0): a batch of one
    input.batch_size = 1;
    input.seq_length = static_cast<std::int64_t>(token_ids.size());
    input.input_ids = token_ids;
    input.attention_mask = attn_mask;
    const auto output = model.forward(input, {.output_hidden_states = true});

    const auto& last_hidden_state = output.last_hidden_state;
    const auto& pooler_output = output.pooler_output;
    std::printf("last hidden:%s hidden layers:%zu, CLS: %s\n",
                last_hidden_state.shape_string().c_str(), output.hidden_states.size(),
                pooler_output.shape_string().c_str());
    const std::int64_t H = last_hidden_state.dim(2);
    std::printf("last layer, representation of 'love'\n");
    print_vector(last_hidden_state.span<float>().data() + 1 * H, H);  // [0][1]
  } catch (const bertkit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
