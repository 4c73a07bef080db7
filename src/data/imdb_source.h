// The pieces of Dataset::imdb: reading the original aclImdb layout (the tarball, streamed with
// libarchive, or an extracted folder), and the one-time download + conversion into the cache.
//
// Layout: aclImdb/{train,test}/{neg,pos}/{id}_{rating}.txt and aclImdb/train/unsup/{id}_0.txt.
// A split lists neg then pos (labels 0, 1), each by ascending numeric id; unsupervised lists
// unsup by id with label -1 -- the order of the offline {split}.jsonl.gz copies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bertkit/dataset.h"

namespace bertkit::data {

struct ImdbSplit {
  std::vector<std::string> texts;
  std::vector<std::int64_t> labels;
};

// "train", "test", "unsupervised" (or "unsup"); InvalidArgument otherwise.
std::string canonical_imdb_split(std::string_view split);

// Streams the tarball once and returns the requested splits. FormatError for an entry with an
// absolute path or "..", a review that is not UTF-8, or an archive libarchive cannot read.
std::map<std::string, ImdbSplit> read_imdb_archive(const std::filesystem::path& tarball,
                                                   const std::set<std::string>& splits);
// The same from an extracted aclImdb folder (the one holding train/ and test/).
ImdbSplit read_imdb_folder(const std::filesystem::path& acl_imdb, const std::string& split);

// Writes {"text": ..., "label": ...} lines, gzip-compressed, atomically (temp file + rename).
void write_imdb_split(const ImdbSplit& split, const std::filesystem::path& file);

Dataset to_dataset(ImdbSplit split, std::string source);

// Fetches `url` into `dest` once: resumable (dest.incomplete), checked against `sha256` before
// it is renamed into place; a mismatch removes the file and throws IoError.
void download_verified(const std::string& url, const std::filesystem::path& dest,
                       const std::string& sha256, bool progress);

}  // namespace bertkit::data
