// What the Trainer tests feed it: small pre-tokenized datasets and quiet arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "bertkit/dataset.h"
#include "bertkit/trainer.h"
#include "bertkit/training_args.h"

namespace bertkit::testing {

// Rows of 4..13 ids drawn from [5, 1005), labels 0/1, all from one seed (lengths differ, so
// batches pad differently).
TokenizedDataset random_token_rows(std::size_t n, std::uint32_t seed);

// TrainingArguments writing into `output_dir` with no reporting and no progress bar.
TrainingArguments quiet_args(const std::filesystem::path& output_dir);
// TrainerOptions printing nothing.
TrainerOptions quiet_options();

}  // namespace bertkit::testing
