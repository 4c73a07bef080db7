#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "bertkit/dataset.h"
#include "bertkit/error.h"

namespace bertkit {

std::vector<std::size_t> torch_randperm(std::size_t n, std::uint64_t seed) {
  // at::mt19937 seeds the standard MT19937 with the low 32 bits
  // (CPUGeneratorImpl::set_current_seed).
  std::mt19937 engine(static_cast<std::uint32_t>(seed & 0xffffffffu));
  std::vector<std::size_t> r(n);
  std::iota(r.begin(), r.end(), std::size_t{0});
  if (n < std::numeric_limits<std::uint32_t>::max() / 20) {
    // randperm_cpu's "small n" branch: a forward Fisher-Yates with 32-bit draws.
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const std::size_t z = static_cast<std::size_t>(engine()) % (n - i);
      std::swap(r[i], r[z + i]);
    }
    return r;
  }
  // The large-n branch: inside-out Fisher-Yates with random64() = (first << 32) | second.
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t hi = engine();
    const std::uint64_t lo = engine();
    const std::size_t z = static_cast<std::size_t>(((hi << 32) | lo) % (i + 1));
    r[i] = r[z];
    r[z] = i;
  }
  return r;
}

std::vector<std::size_t> length_grouped_indices(std::span<const std::size_t> lengths,
                                                std::size_t batch_size, std::uint64_t seed) {
  if (batch_size == 0) throw InvalidArgument("length_grouped_indices: batch_size must be positive");
  const std::size_t n = lengths.size();
  std::size_t mult = std::min<std::size_t>(n / (batch_size * 4), 50);
  if (mult == 0) mult = 1;
  const std::size_t megabatch = mult * batch_size;
  std::vector<std::size_t> indices = torch_randperm(n, seed);
  std::vector<std::size_t> firsts;  // where each megabatch starts in `indices`
  for (std::size_t start = 0; start < n; start += megabatch) {
    const auto end = indices.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + megabatch));
    std::stable_sort(indices.begin() + static_cast<std::ptrdiff_t>(start), end,
                     [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });
    firsts.push_back(start);
  }
  if (firsts.empty()) return indices;
  // torch.argmax: the first megabatch whose longest row is the longest overall.
  std::size_t best = 0;
  for (std::size_t m = 1; m < firsts.size(); ++m) {
    if (lengths[indices[firsts[m]]] > lengths[indices[firsts[best]]]) best = m;
  }
  std::swap(indices[0], indices[firsts[best]]);
  return indices;
}

BatchSampler::BatchSampler(std::size_t num_rows, SamplerOptions options,
                           std::vector<std::size_t> lengths)
    : num_rows_(num_rows), options_(options), lengths_(std::move(lengths)) {
  if (options_.batch_size == 0) throw InvalidArgument("batch_size must be positive");
  if (options_.group_by_length && lengths_.size() != num_rows_) {
    throw InvalidArgument("group_by_length needs the length of every row (" +
                          std::to_string(lengths_.size()) + " lengths for " +
                          std::to_string(num_rows_) + " rows)");
  }
}

std::size_t BatchSampler::num_batches() const {
  const std::size_t bs = options_.batch_size;
  return options_.drop_last ? num_rows_ / bs : (num_rows_ + bs - 1) / bs;
}

std::vector<std::size_t> BatchSampler::epoch_order(std::size_t epoch) const {
  const std::uint64_t seed = options_.seed + epoch;
  if (options_.group_by_length) {
    const std::size_t group =
        options_.length_group_batch_size ? options_.length_group_batch_size : options_.batch_size;
    return length_grouped_indices(lengths_, group, seed);
  }
  if (options_.shuffle) return torch_randperm(num_rows_, seed);
  std::vector<std::size_t> order(num_rows_);
  std::iota(order.begin(), order.end(), std::size_t{0});
  return order;
}

std::span<const std::size_t> BatchSampler::batch(std::span<const std::size_t> order,
                                                 std::size_t index) const {
  if (index >= num_batches()) {
    throw InvalidArgument("batch " + std::to_string(index) + " is out of range (" +
                          std::to_string(num_batches()) + " batches per epoch)");
  }
  if (order.size() != num_rows_) throw InvalidArgument("batch: the order is not of this sampler");
  const std::size_t start = index * options_.batch_size;
  return order.subspan(start, std::min(options_.batch_size, num_rows_ - start));
}

}  // namespace bertkit
