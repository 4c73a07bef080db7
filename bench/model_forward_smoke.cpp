// A quick self-timing smoke run of the CPU forward pass on bert-base shapes (random weights,
// HF init). Not the benchmark (bench/model_forward.cpp compares against PyTorch/ONNX Runtime):
// it checks that the shapes run and gives a rough ms/forward.
//   bench_model_forward_smoke [--shapes 1x128,8x128,4x512] [--iters 3] [--threads N] [--model DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bertkit/error.h"
#include "bertkit/model.h"

int main(int argc, char** argv) {
  std::string shapes = "1x128,8x128,4x512", model_dir;
  int iters = 3, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--shapes"))
      shapes = argv[i + 1];
    else if (!std::strcmp(argv[i], "--iters"))
      iters = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--model"))
      model_dir = argv[i + 1];
  }
  try {
    bertkit::set_num_threads(threads);
    auto model = model_dir.empty() ? bertkit::BertModel::init(bertkit::BertConfig::bert_base(), 42)
                                   : bertkit::BertModel::from_pretrained(model_dir);
    std::printf("threads %d, %lld parameters\n", bertkit::num_threads(),
                static_cast<long long>(model.num_parameters()));
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
      model.forward(input);  // warm-up: allocates the workspace
      double best = 1e30, total = 0.0;
      for (int it = 0; it < iters; ++it) {
        const auto t0 = std::chrono::steady_clock::now();
        model.forward(input);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        best = std::min(best, ms);
        total += ms;
      }
      std::printf("%4ldx%-4ld best %8.1f ms  mean %8.1f ms  (%d iters)\n", B, S, best,
                  total / iters, iters);
    }
  } catch (const bertkit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
