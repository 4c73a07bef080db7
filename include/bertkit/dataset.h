// Datasets for fine-tuning: what `load_dataset(...)`, `dataset.map(tokenizer, truncation=True)`
// and the Trainer's DataLoader (sampler + DataCollatorWithPadding) do, in C++.
//
//   Dataset            raw rows: text (+ text_pair) and a label, read from JSON Lines / CSV / TSV
//                      (gzip or not), from IMDB (Dataset::imdb), or already tokenized rows
//   TokenizedDataset   every row tokenized once (truncated, never padded), stored flat
//   make_batch         pads rows to a Batch: per batch (dynamic), to max_length, or to the
//                      longest row of the dataset
//   DataLoader         the batches of an epoch in Trainer's order (seeded shuffle that
//                      reproduces torch.randperm, group_by_length, drop_last), resumable at any
//                      (epoch, batch) position, with the next batch prepared on a background
//                      thread
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bertkit {

class BertTokenizer;

// ---------------------------------------------------------------------------------------------
// Raw datasets

enum class DataFormat { kAuto, kJsonLines, kCsv, kTsv };
// "auto", "json" / "jsonl", "csv", "tsv"; InvalidArgument otherwise.
DataFormat parse_data_format(std::string_view name);
// From the file name with a trailing ".gz" ignored: .jsonl/.json/.ndjson, .csv, .tsv/.tab.
// InvalidArgument when the extension says nothing.
DataFormat data_format_from_path(const std::filesystem::path& file);

enum class LabelType {
  kNone,            // no label column
  kClassification,  // int64 class ids (-1 = unlabeled, as in IMDB's unsupervised split)
  kRegression,      // float
};

struct Labels {
  LabelType type = LabelType::kNone;
  std::vector<std::int64_t> ids;  // kClassification: one per row
  std::vector<float> values;      // kRegression: one per row
  // id -> name when the labels were strings (ids index this), e.g. {"neg", "pos"}.
  std::vector<std::string> names;
};

// Token sequences stored flat: row i is ids[offsets[i], offsets[i+1]).
struct TokenRows {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> token_type_ids;  // empty: all 0 (single sentences)
  std::vector<std::int32_t> attention_mask;  // empty: all 1 (only kept when a row has a 0)
  std::vector<std::size_t> offsets{0};

  std::size_t size() const { return offsets.size() - 1; }
  std::size_t length(std::size_t row) const { return offsets[row + 1] - offsets[row]; }
  std::span<const std::int32_t> input_ids(std::size_t row) const {
    return {ids.data() + offsets[row], length(row)};
  }
  // Empty spans stand for the defaults above.
  void push_back(std::span<const std::int32_t> input_ids,
                 std::span<const std::int32_t> token_type_ids = {},
                 std::span<const std::int32_t> attention_mask = {});
};

// How the columns of a file map to a dataset (HF names and defaults).
struct ReadOptions {
  DataFormat format = DataFormat::kAuto;
  std::string text_column = "text";
  std::optional<std::string> text_pair_column;
  // Unset: "label" is used when the file has it, and the dataset is unlabeled otherwise. Set:
  // the column must exist.
  std::optional<std::string> label_column;
  // Forces the label type; kNone means infer it: JSON integers / CSV fields that all parse as
  // integers are class ids, any non-integer number makes it regression, and strings are mapped
  // through `label2id`.
  LabelType label_type = LabelType::kNone;
  // String labels -> ids. Empty: built from the sorted distinct strings (as run_glue.py does);
  // otherwise a string not in it is an error.
  std::map<std::string, std::int64_t> label2id;
  // Rows holding `input_ids` (a JSON array, or in CSV/TSV "[1, 2]" / "1 2") are taken as already
  // tokenized, with optional `attention_mask` and `token_type_ids` of the same length.
  std::string input_ids_column = "input_ids";
  std::optional<std::size_t> max_rows;  // stop after this many rows (quick experiments)
};

struct ImdbOptions {
  // (a) An explicit source: a folder with {split}.jsonl[.gz], an extracted aclImdb folder (or its
  // parent), the aclImdb_v1.tar.gz file itself, or a .jsonl[.gz] file for the split.
  std::filesystem::path source;
  // (b) A folder with the offline copy {train,test,unsupervised}.jsonl.gz. Empty:
  // $BERTKIT_IMDB_DIR, else ../shared/data/imdb relative to the working directory when it exists.
  std::filesystem::path data_dir;
  bool use_offline_copy = true;  // false: skip (b) entirely
  // (c) The cache: $BERTKIT_CACHE (default ~/.cache/bertkit) when empty. The tarball is fetched
  // once into {cache}/datasets/imdb/, checked against `sha256`, and converted into the split files.
  std::filesystem::path cache_dir;
  std::string url = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz";
  std::string sha256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe";
  bool allow_download = true;  // false (or $BERTKIT_OFFLINE=1): IoError instead of a download
  bool progress = true;
};

// A raw dataset: one entry per row in every non-empty column.
struct Dataset {
  std::string source;  // where it came from, for messages
  std::vector<std::string> texts;
  std::vector<std::string> text_pairs;  // empty, or one per row
  TokenRows tokens;                     // already tokenized rows (then `texts` is empty)
  Labels labels;

  std::size_t size() const { return pretokenized() ? tokens.size() : texts.size(); }
  bool pretokenized() const { return tokens.size() > 0; }
  bool has_pairs() const { return !text_pairs.empty(); }

  // `load_dataset("json" | "csv", data_files=file)`. Files may be gzip-compressed. Malformed rows,
  // missing columns and invalid UTF-8 throw FormatError naming the file and line.
  static Dataset read(const std::filesystem::path& file, const ReadOptions& options = {});
  // `load_dataset("imdb", split=...)`: split "train" / "test" / "unsupervised" ("unsup" too).
  // Labels 0 = neg, 1 = pos; -1 for unsupervised. Rows: neg then pos, each by ascending review id.
  static Dataset imdb(std::string_view split, const ImdbOptions& options = {});
  static Dataset from_texts(std::vector<std::string> texts, std::vector<std::int64_t> labels = {},
                            std::vector<std::string> text_pairs = {});

  // `dataset.select(indices)`; InvalidArgument for an index out of range.
  Dataset select(std::span<const std::size_t> indices) const;
};

// What `bertkit train --dataset imdb | --train-file F [--validation-file F] [--test-file F]` and
// `bertkit evaluate --split test` name: a dataset by name, or one file per split.
struct DatasetSpec {
  std::string name;                                    // "imdb", or empty for files
  std::map<std::string, std::filesystem::path> files;  // split -> file
  ReadOptions read;
  ImdbOptions imdb;
};
// The split of a named dataset, or the file given for that split (InvalidArgument if none).
// "validation" falls back to "test" for IMDB, which has no validation split.
Dataset load_dataset(const DatasetSpec& spec, std::string_view split);

// ---------------------------------------------------------------------------------------------
// Tokenized datasets

struct TokenizeOptions {
  bool truncation = true;  // longest_first, as `tokenizer(..., truncation=True)`
  // Unset: the tokenizer's model_max_length when it has one, else 512.
  std::optional<std::size_t> max_length;
  unsigned num_threads = 0;  // encode_batch threads (0 = all cores)
};

struct TokenizedDataset {
  TokenRows rows;
  Labels labels;
  std::int32_t pad_token_id = 0;
  std::size_t max_length = 512;  // the truncation length used

  std::size_t size() const { return rows.size(); }
  std::size_t length(std::size_t row) const { return rows.length(row); }
  std::size_t longest() const;  // the longest row (0 when empty)

  // Tokenizes every row (already tokenized rows are taken as they are, untruncated).
  static TokenizedDataset tokenize(const Dataset& dataset, const BertTokenizer& tokenizer,
                                   const TokenizeOptions& options = {});
};

// ---------------------------------------------------------------------------------------------
// Batches

enum class PadMode {
  kDynamic,           // pad to the longest row of each batch (DataCollatorWithPadding)
  kMaxLength,         // pad to max_length (the notebook's padding="max_length")
  kLongestInDataset,  // pad to the longest row of the dataset (padding=True on the whole dataset)
};
// "dynamic" / "longest", "max_length", "longest_in_dataset"; InvalidArgument otherwise.
PadMode parse_pad_mode(std::string_view name);

struct PadOptions {
  PadMode mode = PadMode::kDynamic;
  std::optional<std::size_t> pad_to_multiple_of;
};

// A position in training: the `batch`-th batch of epoch `epoch` (both from 0).
struct DataPosition {
  std::size_t epoch = 0;
  std::size_t batch = 0;
  friend bool operator==(const DataPosition&, const DataPosition&) = default;
};

// One padded batch, row-major [B, S], right padding (input_ids = pad id, mask 0, type id 0).
struct Batch {
  std::size_t B = 0;
  std::size_t S = 0;
  std::vector<std::int32_t> input_ids;
  std::vector<std::int32_t> attention_mask;
  std::vector<std::int32_t> token_type_ids;
  std::vector<std::int64_t> labels;  // [B] for classification, else empty
  std::vector<float> label_values;   // [B] for regression, else empty
  std::vector<std::size_t> indices;  // the dataset rows, in batch order
  DataPosition position;             // set by DataLoader
};

// The collator: rows `indices` of `dataset` padded as `options` says. InvalidArgument for an
// empty or out-of-range index list, or a row longer than max_length in kMaxLength mode.
Batch make_batch(const TokenizedDataset& dataset, std::span<const std::size_t> indices,
                 const PadOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Sampling

// torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU, exactly: torch's
// generator is a 32-bit MT19937 seeded with the low 32 bits of the seed, and randperm swaps
// r[i] with r[i + random() % (n - i)] (checked against torch 1.13 outputs in the tests).
std::vector<std::size_t> torch_randperm(std::size_t n, std::uint64_t seed);

// transformers' get_length_grouped_indices with a generator seeded by `seed`: a random
// permutation cut into megabatches of mega_batch_mult * batch_size (mult = min(n / (4 *
// batch_size), 50), at least 1), each sorted by length descending (stable), and the megabatch
// holding the longest row moved to the front.
std::vector<std::size_t> length_grouped_indices(std::span<const std::size_t> lengths,
                                                std::size_t batch_size, std::uint64_t seed);

struct SamplerOptions {
  std::size_t batch_size = 8;  // per_device_train_batch_size
  // false: rows in dataset order (evaluation, --no-shuffle). true: epoch e is torch.randperm
  // with seed + e, which is the order of Trainer's default sampler (accelerate's
  // SeedableRandomSampler, use_seedable_sampler=True) for `seed`.
  bool shuffle = true;
  std::uint64_t seed = 42;
  bool drop_last = false;  // dataloader_drop_last
  // LengthGroupedSampler (seeded with seed + epoch; Trainer seeds it from the global torch RNG,
  // so its order there depends on everything drawn before and cannot be reproduced).
  bool group_by_length = false;
  // The group size LengthGroupedSampler gets: Trainer passes batch_size *
  // gradient_accumulation_steps. 0: batch_size.
  std::size_t length_group_batch_size = 0;
};

// Splits an epoch's order into batches. `lengths` is needed for group_by_length only.
class BatchSampler {
 public:
  BatchSampler(std::size_t num_rows, SamplerOptions options, std::vector<std::size_t> lengths = {});

  std::size_t num_rows() const { return num_rows_; }
  std::size_t num_batches() const;  // per epoch (len(dataloader))
  const SamplerOptions& options() const { return options_; }
  // All rows in the order epoch `epoch` visits them (before drop_last).
  std::vector<std::size_t> epoch_order(std::size_t epoch) const;
  // The rows of one batch, taken from an order epoch_order() returned.
  std::span<const std::size_t> batch(std::span<const std::size_t> order, std::size_t index) const;

 private:
  std::size_t num_rows_;
  SamplerOptions options_;
  std::vector<std::size_t> lengths_;
};

struct DataLoaderOptions {
  SamplerOptions sampler;
  PadOptions padding;
  bool prefetch = true;  // prepare the next batch on a background thread
};

// The Trainer's DataLoader. Keeps a reference to `dataset`, which must outlive it. next() walks
// through the epochs without end; a Trainer stops after num_train_epochs * num_batches() or
// max_steps, and resumes with seek().
class DataLoader {
 public:
  DataLoader(const TokenizedDataset& dataset, DataLoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  std::size_t num_batches() const { return sampler_.num_batches(); }
  std::size_t num_examples() const { return sampler_.num_rows(); }
  // The batch at position(); then position() moves to the next batch (or the next epoch).
  // InvalidArgument when an epoch has no batches (empty dataset, or drop_last with too few rows).
  Batch next();
  DataPosition position() const { return position_; }
  // Continue from `position` (the one saved with a checkpoint): the batches that follow are those
  // an uninterrupted run would have seen. A batch index past the epoch's end moves to the next.
  void seek(DataPosition position);
  // Any batch, without touching the position or the prefetch.
  Batch batch_at(DataPosition position) const;

 private:
  using Order = std::shared_ptr<const std::vector<std::size_t>>;
  Order order_for(std::size_t epoch);  // cached: the current epoch's order
  DataPosition normalized(DataPosition position) const;
  Batch build(DataPosition position, const std::vector<std::size_t>& order) const;
  void start_prefetch();

  const TokenizedDataset& dataset_;
  DataLoaderOptions options_;
  BatchSampler sampler_;
  DataPosition position_;
  std::size_t order_epoch_ = 0;
  Order order_;
  std::future<Batch> prefetched_;  // the batch at position_, when valid()
  DataPosition prefetched_position_;
};

}  // namespace bertkit
