// `bertkit predict`: BertForSequenceClassification over texts -> label and probabilities (a
// num_labels == 1 model prints its score instead, as HF's text-classification pipeline does).
#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "model_cli.h"

namespace bertkit::cli {

namespace {

struct PredictOptions {
  std::string model;
  std::size_t max_length = 0;
  std::string input_ids;
  int threads = 0;
  std::vector<std::string> texts;
};

void run_predict(const PredictOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const auto dir = model_folder(o.model);
  const BertConfig config = BertConfig::from_pretrained(dir);
  std::vector<std::string> texts;
  const ModelInput input = read_model_input(dir, config, o.input_ids, o.texts, o.max_length, texts);
  auto model = BertForSequenceClassification::from_pretrained(dir.string());
  const ModelOutput out = model.forward(input);
  if (model.num_labels() == 1) {
    // TextClassificationPipeline's function_to_apply: the raw score for regression, else the
    // sigmoid of the single logit.
    const bool regression = model.config().problem_type.value_or("") == "regression";
    const auto logits = out.logits.span<float>();
    for (std::size_t b = 0; b < logits.size(); ++b) {
      const float score = regression ? logits[b] : 1.0f / (1.0f + std::exp(-logits[b]));
      std::printf("%s\t%.4f\t%s\n", model.id2label(0).c_str(), score,
                  texts.empty() ? ("row " + std::to_string(b)).c_str() : texts[b].c_str());
    }
    return;
  }
  const Tensor probs = BertForSequenceClassification::probabilities(out.logits);
  const std::int64_t B = probs.dim(0), C = probs.dim(1);
  auto p = probs.span<float>();
  for (std::int64_t b = 0; b < B; ++b) {
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < C; ++c) {
      if (p[b * C + c] > p[b * C + best]) best = c;
    }
    std::printf("%s\t%.4f\t", model.id2label(best).c_str(), p[b * C + best]);
    for (std::int64_t c = 0; c < C; ++c) {
      std::printf("%s%s=%.4f", c ? " " : "", model.id2label(c).c_str(), p[b * C + c]);
    }
    std::printf("\t%s\n", texts.empty() ? ("row " + std::to_string(b)).c_str() : texts[b].c_str());
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Classify texts with a BertForSequenceClassification model: label, probabilities");
  cmd->add_option("--model", o->model, "model folder or hub name")->required();
  cmd->add_option("--max-length", o->max_length,
                  "truncate to this many tokens (default: min(512, max_position_embeddings))");
  cmd->add_option("--input-ids", o->input_ids,
                  "safetensors file with input_ids/... instead of text")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", o->threads, "threads (default: all cores)");
  cmd->add_option("text", o->texts, "texts (default: one per line of stdin)");
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace bertkit::cli
