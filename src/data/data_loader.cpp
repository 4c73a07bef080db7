#include <vector>

#include "bertkit/dataset.h"
#include "bertkit/error.h"

namespace bertkit {

namespace {

std::vector<std::size_t> lengths_of(const TokenizedDataset& dataset, bool needed) {
  std::vector<std::size_t> lengths;
  if (!needed) return lengths;
  lengths.reserve(dataset.size());
  for (std::size_t i = 0; i < dataset.size(); ++i) lengths.push_back(dataset.length(i));
  return lengths;
}

}  // namespace

DataLoader::DataLoader(const TokenizedDataset& dataset, DataLoaderOptions options)
    : dataset_(dataset),
      options_(options),
      sampler_(dataset.size(), options.sampler,
               lengths_of(dataset, options.sampler.group_by_length)) {}

DataLoader::~DataLoader() {
  if (prefetched_.valid()) prefetched_.wait();
}

DataPosition DataLoader::normalized(DataPosition position) const {
  const std::size_t per_epoch = num_batches();
  if (per_epoch == 0) {
    throw InvalidArgument("the data loader has no batches: " + std::to_string(num_examples()) +
                          " rows, batch size " + std::to_string(options_.sampler.batch_size) +
                          (options_.sampler.drop_last ? ", drop_last" : ""));
  }
  position.epoch += position.batch / per_epoch;
  position.batch %= per_epoch;
  return position;
}

DataLoader::Order DataLoader::order_for(std::size_t epoch) {
  if (!order_ || order_epoch_ != epoch) {
    order_ = std::make_shared<const std::vector<std::size_t>>(sampler_.epoch_order(epoch));
    order_epoch_ = epoch;
  }
  return order_;
}

Batch DataLoader::build(DataPosition position, const std::vector<std::size_t>& order) const {
  Batch b = make_batch(dataset_, sampler_.batch(order, position.batch), options_.padding);
  b.position = position;
  return b;
}

void DataLoader::start_prefetch() {
  const DataPosition position = position_;
  Order order = order_for(position.epoch);
  // Only const members are read on the worker; the destructor and next() wait for it.
  prefetched_ =
      std::async(std::launch::async, [this, position, order] { return build(position, *order); });
  prefetched_position_ = position;
}

Batch DataLoader::next() {
  position_ = normalized(position_);
  Batch batch;
  if (prefetched_.valid() && prefetched_position_ == position_) {
    batch = prefetched_.get();
  } else {
    if (prefetched_.valid()) prefetched_.wait();  // a batch for a position we left (seek)
    prefetched_ = {};
    batch = build(position_, *order_for(position_.epoch));
  }
  position_ = normalized({position_.epoch, position_.batch + 1});
  if (options_.prefetch) start_prefetch();
  return batch;
}

void DataLoader::seek(DataPosition position) { position_ = normalized(position); }

Batch DataLoader::batch_at(DataPosition position) const {
  position = normalized(position);
  return build(position, sampler_.epoch_order(position.epoch));
}

}  // namespace bertkit
