// A quick self-timing smoke run of one training step's forward + backward on bert-base shapes
// (random weights, HF init), beside the inference forward of the same batch: checks that the
// shapes run and gives a rough ms/step (backward / forward ratio; llm.c-style kernels should
// land near 2x). Not a benchmark; the lead measures on a quiet machine.
//   bench_model_train_step_smoke [--shapes 8x128,4x512] [--iters 3] [--threads N] [--dropout 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/model.h"

namespace {

template <class F>
double best_ms(int iters, F&& f) {
  double best = 1e30;
  for (int it = 0; it < iters; ++it) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shapes = "8x128,4x512";
  int iters = 3, threads = 0, dropout = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--shapes"))
      shapes = argv[i + 1];
    else if (!std::strcmp(argv[i], "--iters"))
      iters = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dropout"))
      dropout = std::atoi(argv[i + 1]);
  }
  try {
    bertkit::set_num_threads(threads);
    auto model = bertkit::BertForSequenceClassification::init(bertkit::BertConfig::bert_base(), 42);
    model.set_training(dropout != 0);
    std::printf("threads %d, %lld parameters, dropout %s\n", bertkit::num_threads(),
                static_cast<long long>(model.num_parameters()), dropout ? "on" : "off");
    std::size_t pos = 0;
    while (pos < shapes.size()) {
      std::size_t end = shapes.find(',', pos);
      if (end == std::string::npos) end = shapes.size();
      const std::string shape = shapes.substr(pos, end - pos);
      pos = end + 1;
      const long B = std::stol(shape), S = std::stol(shape.substr(shape.find('x') + 1));
      std::vector<std::vector<std::int32_t>> rows(B, std::vector<std::int32_t>(S));
      for (long b = 0; b < B; ++b) {
        for (long s = 0; s < S; ++s)
          rows[b][s] = static_cast<std::int32_t>(1000 + (b * 131 + s * 7) % 20000);
      }
      const auto input = bertkit::ModelInput::from_ids(rows);
      std::vector<std::int64_t> labels(B);
      for (long b = 0; b < B; ++b) labels[b] = b % 2;
      model.forward(input);  // warm-up: workspaces
      model.train_step_forward_backward(input, labels);
      const double fwd = best_ms(iters, [&] { model.forward(input); });
      float loss = 0;
      const double step = best_ms(iters, [&] {
        model.zero_grad();
        loss = model.train_step_forward_backward(input, labels);
      });
      std::printf("%4ldx%-4ld forward %8.1f ms  forward+backward %8.1f ms  (x%.2f)  loss %.4f\n", B,
                  S, fwd, step, step / fwd, loss);
    }
  } catch (const bertkit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
