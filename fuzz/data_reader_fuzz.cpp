// libFuzzer target for the data readers: arbitrary bytes (plain or gzip) read as JSON Lines, CSV
// or TSV, with column options drawn from the first byte; already tokenized rows are then padded
// into a batch. The only allowed errors are FormatError (a malformed file) and IoError (a
// corrupt gzip stream); anything else -- another exception, a crash, a sanitizer report -- is a
// bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include "bertkit/dataset.h"
#include "bertkit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() /
      ("bertkit-data-fuzz-" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  bertkit::ReadOptions options;
  options.format = (mode % 3 == 0)   ? bertkit::DataFormat::kJsonLines
                   : (mode % 3 == 1) ? bertkit::DataFormat::kCsv
                                     : bertkit::DataFormat::kTsv;
  if (mode & 0x04) options.text_pair_column = "pair";
  if (mode & 0x08) options.label_column = "label";
  if (mode & 0x10) options.label2id = {{"neg", 0}, {"pos", 1}};
  if (mode & 0x20) options.label_type = bertkit::LabelType::kRegression;
  if (mode & 0x40) options.max_rows = 3;
  try {
    const bertkit::Dataset d = bertkit::Dataset::read(file, options);
    if (d.size() == 0) std::abort();  // an empty result is reported as an error instead
    if (d.has_pairs() && d.text_pairs.size() != d.texts.size()) std::abort();
    if (!d.labels.ids.empty() && d.labels.ids.size() != d.size()) std::abort();
    if (!d.labels.values.empty() && d.labels.values.size() != d.size()) std::abort();
    if (d.pretokenized()) {
      bertkit::TokenizedDataset t;
      t.rows = d.tokens;
      t.labels = d.labels;
      std::vector<std::size_t> all(t.size());
      std::iota(all.begin(), all.end(), std::size_t{0});
      const auto b = bertkit::make_batch(t, all);
      if (b.input_ids.size() != b.B * b.S || b.B != t.size()) std::abort();
    }
  } catch (const bertkit::FormatError&) {
  } catch (const bertkit::IoError&) {
  }
  return 0;
}
