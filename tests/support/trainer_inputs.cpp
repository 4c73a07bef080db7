#include "support/trainer_inputs.h"

#include <random>
#include <vector>

namespace bertkit::testing {

TokenizedDataset random_token_rows(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  TokenizedDataset data;
  data.labels.type = LabelType::kClassification;
  data.max_length = 16;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::int32_t> ids(4 + gen() % 10);
    for (auto& id : ids) id = static_cast<std::int32_t>(5 + gen() % 1000);
    data.rows.push_back(ids);
    data.labels.ids.push_back(static_cast<std::int64_t>(gen() % 2));
  }
  return data;
}

TrainingArguments quiet_args(const std::filesystem::path& output_dir) {
  TrainingArguments args;
  args.output_dir = output_dir.string();
  args.report_to = {"none"};
  args.disable_tqdm = true;
  return args;
}

TrainerOptions quiet_options() {
  TrainerOptions options;
  options.progress = false;
  options.print_logs = false;
  return options;
}

}  // namespace bertkit::testing
