// `bertkit embed`: texts (or an --input-ids file) -> BERT outputs, printed as the notebook does
// and written as .safetensors (HF output names) / .npy (pooled embeddings) / .jsonl.
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "model_cli.h"

namespace bertkit::cli {

namespace {

struct EmbedOptions {
  std::string model;
  std::size_t max_length = 0;
  std::string pooling = "pooler";
  bool normalize = false;
  bool output_hidden_states = false;
  bool output_attentions = false;
  std::string output;
  std::string input_ids;
  int threads = 0;
  std::vector<std::string> texts;
};

// Pooled [B, H] embeddings: the [CLS] vector, the pooler output, or the masked token mean
// (sentence-transformers' mean pooling).
Tensor pool(const ModelOutput& out, const ModelInput& in, const std::string& pooling) {
  const std::int64_t B = out.last_hidden_state.dim(0), S = out.last_hidden_state.dim(1),
                     H = out.last_hidden_state.dim(2);
  if (pooling == "pooler") return out.pooler_output;
  Tensor r(DType::kF32, {B, H});
  auto dst = r.mutable_span<float>();
  auto src = out.last_hidden_state.span<float>();
  for (std::int64_t b = 0; b < B; ++b) {
    if (pooling == "cls") {
      std::copy_n(src.begin() + b * S * H, H, dst.begin() + b * H);
      continue;
    }
    double count = 0.0;
    std::vector<double> acc(H, 0.0);
    for (std::int64_t s = 0; s < S; ++s) {
      if (!in.attention_mask.empty() && in.attention_mask[b * S + s] == 0) continue;
      count += 1.0;
      for (std::int64_t h = 0; h < H; ++h) acc[h] += src[(b * S + s) * H + h];
    }
    // sentence-transformers clamps the token count at 1e-9.
    for (std::int64_t h = 0; h < H; ++h)
      dst[b * H + h] = static_cast<float>(acc[h] / std::max(count, 1e-9));
  }
  return r;
}

void l2_normalize(Tensor& t) {
  const std::int64_t B = t.dim(0), H = t.dim(1);
  auto v = t.mutable_span<float>();
  for (std::int64_t b = 0; b < B; ++b) {
    double sq = 0.0;
    for (std::int64_t h = 0; h < H; ++h) sq += double(v[b * H + h]) * v[b * H + h];
    // torch.nn.functional.normalize: x / max(||x||, 1e-12)
    const double n = std::max(std::sqrt(sq), 1e-12);
    for (std::int64_t h = 0; h < H; ++h) v[b * H + h] = static_cast<float>(v[b * H + h] / n);
  }
}

void run_embed(const EmbedOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const auto dir = model_folder(o.model);
  const BertConfig config = BertConfig::from_pretrained(dir);
  std::vector<std::string> texts;
  const ModelInput input = read_model_input(dir, config, o.input_ids, o.texts, o.max_length, texts);
  ForwardOptions fo{o.output_hidden_states, o.output_attentions};
  ModelOutput out;
  LoadOptions lo;
  if (has_classifier_architecture(config)) {
    out = BertForSequenceClassification::from_pretrained(dir.string(), lo).forward(input, fo);
  } else {
    out = BertModel::from_pretrained(dir.string(), lo).forward(input, fo);
  }
  std::optional<Tensor> embeddings;
  if (o.pooling != "none") {
    embeddings = pool(out, input, o.pooling);
    if (o.normalize) l2_normalize(*embeddings);
  }
  std::cout << "last hidden:" << out.last_hidden_state.shape_string()
            << " hidden layers:" << out.hidden_states.size()
            << ", CLS: " << out.pooler_output.shape_string() << "\n";

  if (o.output.empty()) {
    if (!embeddings) return;
    const std::int64_t B = embeddings->dim(0), H = embeddings->dim(1);
    auto v = embeddings->span<float>();
    for (std::int64_t b = 0; b < B; ++b) {
      std::cout << (texts.empty() ? "row " + std::to_string(b) : texts[b]) << "\t[";
      for (std::int64_t h = 0; h < std::min<std::int64_t>(H, 6); ++h) {
        std::cout << (h ? ", " : "") << v[b * H + h];
      }
      std::cout << (H > 6 ? ", ...] (" + std::to_string(H) + " values)\n" : "]\n");
    }
    return;
  }
  const std::filesystem::path file(o.output);
  const std::string ext = file.extension().string();
  if (ext == ".safetensors") {
    StateDict sd;
    sd.emplace("last_hidden_state", out.last_hidden_state);
    sd.emplace("pooler_output", out.pooler_output);
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i) {
      sd.emplace("hidden_states." + std::to_string(i), out.hidden_states[i]);
    }
    for (std::size_t i = 0; i < out.attentions.size(); ++i) {
      sd.emplace("attentions." + std::to_string(i), out.attentions[i]);
    }
    if (!out.logits.empty()) sd.emplace("logits", out.logits);
    if (embeddings) sd.emplace("embeddings", *embeddings);
    save_safetensors(file, sd);
  } else if (ext == ".npy") {
    save_npy(file, embeddings ? *embeddings : out.last_hidden_state);
  } else if (ext == ".jsonl") {
    if (!embeddings)
      throw InvalidArgument("--output .jsonl needs a pooled vector (--pooling cls|pooler|mean)");
    std::ofstream f(file);
    if (!f) throw IoError("cannot create " + file.string());
    const std::int64_t B = embeddings->dim(0), H = embeddings->dim(1);
    auto v = embeddings->span<float>();
    for (std::int64_t b = 0; b < B; ++b) {
      nlohmann::json j;
      if (!texts.empty()) j["text"] = texts[b];
      j["embedding"] = std::vector<float>(v.begin() + b * H, v.begin() + (b + 1) * H);
      f << j.dump() << "\n";
    }
    if (!f) throw IoError("cannot write " + file.string());
  } else {
    throw InvalidArgument("--output " + file.string() +
                          ": unknown extension (use .safetensors, .npy or .jsonl)");
  }
  std::cout << "wrote " << file.string() << "\n";
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto o = std::make_shared<EmbedOptions>();
  CLI::App* cmd =
      app.add_subcommand("embed", "Run BERT over texts and write its outputs (HF names)");
  cmd->add_option("--model", o->model, "model folder or hub name")->required();
  cmd->add_option("--max-length", o->max_length,
                  "truncate to this many tokens (default: min(512, max_position_embeddings))");
  cmd->add_option("--pooling", o->pooling, "sentence vector: cls, pooler, mean or none")
      ->check(CLI::IsMember({"cls", "pooler", "mean", "none"}))
      ->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "L2-normalise the pooled vectors");
  cmd->add_flag("--output-hidden-states", o->output_hidden_states,
                "also return every layer's output");
  cmd->add_flag("--output-attentions", o->output_attentions, "also return the attention maps");
  cmd->add_option("--output", o->output, "write FILE: .safetensors (all outputs), .npy, .jsonl");
  cmd->add_option("--input-ids", o->input_ids,
                  "safetensors file with input_ids/attention_mask/token_type_ids instead of text")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", o->threads, "threads (default: all cores)");
  cmd->add_option("text", o->texts, "texts (default: one per line of stdin)");
  cmd->callback([o] { run_embed(*o); });
}

}  // namespace bertkit::cli
