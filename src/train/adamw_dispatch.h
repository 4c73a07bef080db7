// Which AdamW kernel runs: the AVX2+FMA one where the CPU has it, else the portable one. Both
// compute the same bits; tests force the portable path to prove it.
#pragma once

namespace bertkit::train {

void force_portable_adamw(bool on);

}  // namespace bertkit::train
