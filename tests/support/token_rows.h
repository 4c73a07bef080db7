// Small pre-tokenized classification datasets for Trainer tests: rows of 4..13 ids drawn from
// [5, 1005), labels 0/1, all from one seed (lengths differ, so batches pad differently).
#pragma once

#include <cstddef>
#include <cstdint>

#include "bertkit/dataset.h"

namespace bertkit::testing {

TokenizedDataset random_token_rows(std::size_t n, std::uint32_t seed);

}  // namespace bertkit::testing
