// The sampler and DataLoader: shuffled orders against torch 1.13's own outputs
// (fixtures/data/torch_order.json, made by make_torch_order.py), group_by_length against
// transformers' get_length_grouped_indices run under torch, drop_last, determinism and resume.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "support/paths.h"

namespace bertkit {
namespace {

using nlohmann::json;

json torch_orders() {
  std::ifstream in(testing::fixture("data/torch_order.json"));
  return json::parse(in);
}

std::vector<std::size_t> as_indices(const json& j) { return j.get<std::vector<std::size_t>>(); }

// A tokenized dataset whose row i holds i + 1 tokens [i, i, ...] (lengths 1..n, or as given).
TokenizedDataset dataset_with_lengths(const std::vector<std::size_t>& lengths) {
  TokenizedDataset d;
  d.pad_token_id = 0;
  d.max_length = 64;
  d.labels.type = LabelType::kClassification;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    std::vector<std::int32_t> ids(lengths[i], static_cast<std::int32_t>(i + 1));
    d.rows.push_back(ids);
    d.labels.ids.push_back(static_cast<std::int64_t>(i % 2));
  }
  return d;
}

TEST(TorchRandperm, MatchesTorchForEverySizeAndSeed) {
  const json orders = torch_orders();  // kept alive: the loop walks a part of it
  for (const auto& c : orders["randperm"]) {
    const auto n = c["n"].get<std::size_t>();
    const auto seed = c["seed"].get<std::uint64_t>();
    EXPECT_EQ(torch_randperm(n, seed), as_indices(c["perm"])) << "n=" << n << " seed=" << seed;
  }
}

TEST(TorchRandperm, RandomSamplerOrderIsRandperm) {
  const json orders = torch_orders();  // kept alive: the loop walks a part of it
  for (const auto& c : orders["random_sampler"]) {
    BatchSampler sampler(
        c["n"].get<std::size_t>(),
        {.batch_size = 4, .shuffle = true, .seed = c["seed"].get<std::uint64_t>()});
    EXPECT_EQ(sampler.epoch_order(0), as_indices(c["order"]));
  }
}

TEST(LengthGrouped, MatchesTransformersAlgorithmUnderTorch) {
  const json orders = torch_orders();  // kept alive: the loop walks a part of it
  for (const auto& c : orders["length_grouped"]) {
    const auto lengths = c["lengths"].get<std::vector<std::size_t>>();
    const auto got = length_grouped_indices(lengths, c["batch_size"].get<std::size_t>(),
                                            c["seed"].get<std::uint64_t>());
    EXPECT_EQ(got, as_indices(c["indices"])) << "n=" << lengths.size();
  }
}

TEST(LengthGrouped, LongestRowComesFirstAndMegabatchesAreSorted) {
  std::vector<std::size_t> lengths(500);
  for (std::size_t i = 0; i < lengths.size(); ++i) lengths[i] = (i * 37) % 101 + 1;
  const std::size_t bs = 4;
  const auto order = length_grouped_indices(lengths, bs, 42);
  ASSERT_EQ(order.size(), lengths.size());
  EXPECT_EQ(std::set<std::size_t>(order.begin(), order.end()).size(), lengths.size());
  EXPECT_EQ(lengths[order[0]], *std::max_element(lengths.begin(), lengths.end()));
  const std::size_t mega = std::min<std::size_t>(lengths.size() / (bs * 4), 50) * bs;  // 124
  for (std::size_t start = 0; start < order.size(); start += mega) {
    // Sorted descending, except that position 0 may hold the swapped-in global maximum.
    for (std::size_t i = start + 2; i < std::min(order.size(), start + mega); ++i) {
      EXPECT_GE(lengths[order[i - 1]], lengths[order[i]]) << "megabatch at " << start;
    }
  }
}

TEST(BatchSampler, NumBatchesAndDropLast) {
  BatchSampler keep(10, {.batch_size = 4, .drop_last = false});
  BatchSampler drop(10, {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(keep.num_batches(), 3u);
  EXPECT_EQ(drop.num_batches(), 2u);
  const auto order = keep.epoch_order(0);
  EXPECT_EQ(keep.batch(order, 2).size(), 2u);
  EXPECT_EQ(drop.batch(order, 1).size(), 4u);
  EXPECT_THROW(drop.batch(order, 2), InvalidArgument);
  EXPECT_EQ(BatchSampler(8, {.batch_size = 4, .drop_last = true}).num_batches(), 2u);
  EXPECT_EQ(BatchSampler(3, {.batch_size = 4, .drop_last = true}).num_batches(), 0u);
  EXPECT_THROW(BatchSampler(3, {.batch_size = 0}), InvalidArgument);
}

TEST(BatchSampler, NoShuffleIsDatasetOrderAndShuffleChangesPerEpoch) {
  BatchSampler fixed(7, {.batch_size = 3, .shuffle = false});
  std::vector<std::size_t> iota(7);
  std::iota(iota.begin(), iota.end(), std::size_t{0});
  EXPECT_EQ(fixed.epoch_order(0), iota);
  EXPECT_EQ(fixed.epoch_order(5), iota);

  BatchSampler shuffled(100, {.batch_size = 8, .seed = 42});
  EXPECT_EQ(shuffled.epoch_order(0), torch_randperm(100, 42));
  EXPECT_EQ(shuffled.epoch_order(1), torch_randperm(100, 43));  // seed + epoch
  EXPECT_NE(shuffled.epoch_order(0), shuffled.epoch_order(1));
  EXPECT_EQ(shuffled.epoch_order(3),
            BatchSampler(100, {.batch_size = 8, .seed = 42}).epoch_order(3));
}

TEST(DataLoader, VisitsEveryRowOncePerEpochInSamplerOrder) {
  std::vector<std::size_t> lengths(23);
  std::iota(lengths.begin(), lengths.end(), std::size_t{1});
  const auto data = dataset_with_lengths(lengths);
  DataLoader loader(data, {.sampler = {.batch_size = 5, .seed = 7}});
  ASSERT_EQ(loader.num_batches(), 5u);
  for (std::size_t epoch = 0; epoch < 2; ++epoch) {
    std::vector<std::size_t> seen;
    for (std::size_t b = 0; b < loader.num_batches(); ++b) {
      const Batch batch = loader.next();
      EXPECT_EQ(batch.position, (DataPosition{epoch, b}));
      EXPECT_EQ(batch.B, b + 1 < loader.num_batches() ? 5u : 3u);
      seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
    }
    EXPECT_EQ(seen, torch_randperm(23, 7 + epoch));
  }
  EXPECT_EQ(loader.position(), (DataPosition{2, 0}));
}

TEST(DataLoader, DropLastSkipsTheShortBatch) {
  const auto data = dataset_with_lengths(std::vector<std::size_t>(10, 3));
  DataLoader loader(data, {.sampler = {.batch_size = 4, .shuffle = false, .drop_last = true}});
  EXPECT_EQ(loader.num_batches(), 2u);
  EXPECT_EQ(loader.next().indices, (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(loader.next().indices, (std::vector<std::size_t>{4, 5, 6, 7}));
  EXPECT_EQ(loader.next().indices, (std::vector<std::size_t>{0, 1, 2, 3}));  // next epoch
}

TEST(DataLoader, ResumeContinuesExactlyWhereARunStopped) {
  std::vector<std::size_t> lengths(50);
  for (std::size_t i = 0; i < lengths.size(); ++i) lengths[i] = i % 13 + 1;
  const auto data = dataset_with_lengths(lengths);
  for (const bool grouped : {false, true}) {
    const DataLoaderOptions options{
        .sampler = {.batch_size = 4, .seed = 3, .group_by_length = grouped}};
    DataLoader full(data, options);
    std::vector<Batch> reference;
    for (int i = 0; i < 40; ++i) reference.push_back(full.next());  // crosses 3 epochs (13 each)

    DataLoader first(data, options);
    for (int i = 0; i < 17; ++i) first.next();
    const DataPosition saved = first.position();
    EXPECT_EQ(saved, (DataPosition{1, 4}));

    DataLoader resumed(data, options);
    resumed.seek(saved);
    for (int i = 17; i < 40; ++i) {
      const Batch b = resumed.next();
      EXPECT_EQ(b.indices, reference[i].indices) << "step " << i << " grouped=" << grouped;
      EXPECT_EQ(b.input_ids, reference[i].input_ids);
      EXPECT_EQ(b.position, reference[i].position);
    }
    EXPECT_EQ(full.batch_at({2, 3}).indices, reference[2 * 13 + 3].indices);
    EXPECT_EQ(full.batch_at({0, 13}).indices, reference[13].indices);  // past the end: next epoch
  }
}

TEST(DataLoader, PrefetchDoesNotChangeTheBatches) {
  std::vector<std::size_t> lengths(31);
  for (std::size_t i = 0; i < lengths.size(); ++i) lengths[i] = (i * 7) % 11 + 1;
  const auto data = dataset_with_lengths(lengths);
  DataLoader with(data, {.sampler = {.batch_size = 3}, .prefetch = true});
  DataLoader without(data, {.sampler = {.batch_size = 3}, .prefetch = false});
  for (int i = 0; i < 25; ++i) {
    if (i == 12) {  // a seek in the middle discards the prefetched batch
      with.seek({4, 1});
      without.seek({4, 1});
    }
    const Batch a = with.next();
    const Batch b = without.next();
    EXPECT_EQ(a.indices, b.indices);
    EXPECT_EQ(a.input_ids, b.input_ids);
    EXPECT_EQ(a.attention_mask, b.attention_mask);
    EXPECT_EQ(a.labels, b.labels);
  }
}

TEST(DataLoader, GroupByLengthBatchesHoldSimilarLengths) {
  std::vector<std::size_t> lengths(400);
  for (std::size_t i = 0; i < lengths.size(); ++i) lengths[i] = (i * 53) % 97 + 1;
  const auto data = dataset_with_lengths(lengths);
  DataLoader grouped(data, {.sampler = {.batch_size = 8, .group_by_length = true}});
  DataLoader plain(data, {.sampler = {.batch_size = 8}});
  std::size_t padded_grouped = 0, padded_plain = 0;
  const std::size_t tokens = std::accumulate(lengths.begin(), lengths.end(), std::size_t{0});
  for (std::size_t i = 0; i < grouped.num_batches(); ++i) {
    const Batch g = grouped.next();
    const Batch p = plain.next();
    if (i == 0) {
      EXPECT_EQ(g.S, 97u);  // the longest row leads
    }
    padded_grouped += g.B * g.S;
    padded_plain += p.B * p.S;
  }
  // One megabatch holds all 400 rows here, so batches are nearly free of padding.
  EXPECT_LT(padded_grouped * 10, tokens * 11);
  EXPECT_LT(padded_grouped * 10, padded_plain * 7);
}

TEST(DataLoader, EmptyEpochIsAnError) {
  const auto data = dataset_with_lengths({3, 4});
  DataLoader loader(data, {.sampler = {.batch_size = 4, .drop_last = true}});
  EXPECT_EQ(loader.num_batches(), 0u);
  EXPECT_THROW(loader.next(), InvalidArgument);
}

}  // namespace
}  // namespace bertkit
