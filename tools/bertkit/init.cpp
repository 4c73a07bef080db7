// `bertkit init`: a randomly initialised BertForSequenceClassification folder, as
// `BertForSequenceClassification(config).save_pretrained(dir)` + `tokenizer.save_pretrained(dir)`
// write it -- the starting point of training from scratch.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "model_cli.h"

namespace bertkit::cli {

namespace {

namespace fs = std::filesystem;

struct InitOptions {
  std::string config;
  std::int64_t num_labels = 2;
  std::uint64_t seed = 42;
  std::string output;
  std::string tokenizer;
  bool overwrite = false;
};

bool is_preset(const std::string& name) {
  return !fs::exists(name) && name.rfind("bert", 0) == 0 && name.find('/') == std::string::npos &&
         name.find('.') == std::string::npos;
}

// Presets use bert-base-uncased's vocabulary: the repo's copy when run from a checkout, the
// shared copy beside it, else the user must say where it is. A config file's own folder is
// looked at first, since a model folder's config.json sits beside its tokenizer.
fs::path default_tokenizer(const InitOptions& o, bool preset) {
  if (!preset) {
    const fs::path beside = fs::path(o.config).parent_path();
    const fs::path dir = beside.empty() ? fs::path(".") : beside;
    if (fs::exists(dir / "vocab.txt") || fs::exists(dir / "tokenizer.json")) return dir;
  }
  for (const char* candidate :
       {"tests/fixtures/bert-base-uncased", "../shared/models/bert-base-uncased-tokenizer"}) {
    if (fs::exists(fs::path(candidate) / "vocab.txt")) return candidate;
  }
  throw InvalidArgument(
      "init: no tokenizer files found (looked for tests/fixtures/bert-base-uncased in the "
      "working directory); give --tokenizer DIR (a folder with vocab.txt, or a hub name)");
}

void check_output(const fs::path& out, bool overwrite) {
  if (!fs::exists(out)) return;
  if (!fs::is_directory(out)) {
    throw InvalidArgument("init: --output " + out.string() + " exists and is not a folder");
  }
  if (!fs::is_empty(out) && !overwrite) {
    throw InvalidArgument("init: --output " + out.string() +
                          " is not empty; give --overwrite to write into it anyway");
  }
}

void run_init(const InitOptions& o) {
  const bool preset = is_preset(o.config);
  BertConfig config = preset ? BertConfig::preset(o.config) : BertConfig::from_json_file(o.config);
  if (o.num_labels < 1) {
    throw InvalidArgument("init: --num-labels must be at least 1, got " +
                          std::to_string(o.num_labels));
  }
  config.set_num_labels(o.num_labels);
  config.architectures.clear();
  config.name_or_path.reset();
  config.validate();

  const fs::path out = o.output;
  check_output(out, o.overwrite);
  const fs::path tokenizer_dir =
      o.tokenizer.empty() ? default_tokenizer(o, preset) : model_folder(o.tokenizer);
  BertTokenizer tokenizer = BertTokenizer::from_pretrained(tokenizer_dir);
  if (static_cast<std::int64_t>(tokenizer.vocab_size()) > config.vocab_size) {
    throw InvalidArgument("init: the tokenizer in " + tokenizer_dir.string() + " has " +
                          std::to_string(tokenizer.vocab_size()) +
                          " tokens, more than the config's vocab_size " +
                          std::to_string(config.vocab_size));
  }

  const auto model = BertForSequenceClassification::init(config, o.seed);
  model.save_pretrained(out);
  tokenizer.save_pretrained(out);
  std::printf(
      "Initialised BertForSequenceClassification (%lld parameters, %lld labels, seed %llu) "
      "in %s\n",
      static_cast<long long>(model.num_parameters()), static_cast<long long>(model.num_labels()),
      static_cast<unsigned long long>(o.seed), out.string().c_str());
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init", "Write a randomly initialised BertForSequenceClassification model folder");
  cmd->add_option("--config", o->config,
                  "config.json file, or a preset: bert-base, bert-mini, "
                  "bert-tiny")
      ->required();
  cmd->add_option("--num-labels", o->num_labels, "number of classes (default 2)");
  cmd->add_option("--seed", o->seed, "seed of the weight initialisation (default 42)");
  cmd->add_option("--output", o->output, "model folder to write")->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "folder (or hub name) whose tokenizer files are copied (default: "
                  "bert-base-uncased's from tests/fixtures when run from the repo)");
  cmd->add_flag("--overwrite", o->overwrite, "write into a non-empty --output folder");
  cmd->callback([o] { run_init(*o); });
}

}  // namespace bertkit::cli
