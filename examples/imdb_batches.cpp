// The fine-tuning data pipeline on IMDB: load a split, tokenize it once (truncation to 512),
// and walk one epoch of shuffled, dynamically padded batches as Trainer would see them.
//   example_imdb_batches [model_dir] [split] [batch_size]
// IMDB comes from $BERTKIT_IMDB_DIR, ../shared/data/imdb or the cache (downloaded once).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bertkit/bertkit.h"

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "tests/fixtures/bert-base-uncased";
  const std::string split = argc > 2 ? argv[2] : "train";
  const std::size_t batch_size = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 16;
  try {
    using clock = std::chrono::steady_clock;
    const auto seconds = [](clock::time_point a) {
      return std::chrono::duration<double>(clock::now() - a).count();
    };
    auto t0 = clock::now();
    const auto tokenizer = bertkit::BertTokenizer::from_pretrained(model);
    const auto dataset = bertkit::Dataset::imdb(split);
    std::printf("loaded %zu rows of imdb/%s in %.2f s\n", dataset.size(), split.c_str(),
                seconds(t0));

    t0 = clock::now();
    const auto tokenized = bertkit::TokenizedDataset::tokenize(dataset, tokenizer);
    std::size_t tokens = tokenized.rows.ids.size();
    std::printf("tokenized: %zu tokens, longest %zu, in %.2f s\n", tokens, tokenized.longest(),
                seconds(t0));

    bertkit::DataLoader loader(tokenized, {.sampler = {.batch_size = batch_size, .seed = 42}});
    t0 = clock::now();
    std::size_t padded = 0;
    for (std::size_t i = 0; i < loader.num_batches(); ++i) {
      const bertkit::Batch b = loader.next();
      padded += b.B * b.S;
    }
    std::printf("%zu batches of %zu in %.3f s; padding adds %.1f%% to the %zu tokens\n",
                loader.num_batches(), batch_size, seconds(t0),
                100.0 * static_cast<double>(padded - tokens) / static_cast<double>(tokens), tokens);
  } catch (const bertkit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
