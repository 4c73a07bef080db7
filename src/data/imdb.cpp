#include <cstdlib>

#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "core/sha256.h"
#include "data/imdb_source.h"
#include "hub/file_lock.h"

namespace bertkit {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTarball = "aclImdb_v1.tar.gz";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// A folder holding {split}.jsonl.gz (or .jsonl), or nothing.
std::optional<fs::path> split_file(const fs::path& dir, const std::string& split) {
  for (const char* ext : {".jsonl.gz", ".jsonl"}) {
    const auto file = dir / (split + ext);
    if (fs::is_regular_file(file)) return file;
  }
  return std::nullopt;
}

Dataset read_split_file(const fs::path& file) {
  ReadOptions options;
  options.label_column = "label";
  return Dataset::read(file, options);
}

bool is_archive(const fs::path& file) {
  const std::string name = file.filename().string();
  return name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar");
}

Dataset from_archive(const fs::path& tarball, const std::string& split) {
  auto splits = data::read_imdb_archive(tarball, {split});
  return data::to_dataset(std::move(splits[split]), tarball.string() + " (" + split + ")");
}

// (a) what the caller named.
Dataset from_explicit(const fs::path& source, const std::string& split) {
  if (fs::is_regular_file(source)) {
    return is_archive(source) ? from_archive(source, split) : read_split_file(source);
  }
  if (!fs::is_directory(source))
    throw IoError("IMDB source " + source.string() + " does not exist");
  if (const auto file = split_file(source, split)) return read_split_file(*file);
  for (const auto& root : {source, source / "aclImdb"}) {
    if (fs::is_directory(root / "train") || fs::is_directory(root / "test")) {
      return data::to_dataset(data::read_imdb_folder(root, split),
                              root.string() + " (" + split + ")");
    }
  }
  if (fs::is_regular_file(source / kTarball)) return from_archive(source / kTarball, split);
  throw IoError("no IMDB data in " + source.string() + " (expected " + split +
                ".jsonl.gz, an extracted aclImdb/ folder or " + kTarball + ")");
}

fs::path cache_root(const ImdbOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (const auto dir = env("BERTKIT_CACHE"); !dir.empty()) return dir;
  const auto home = env("HOME");
  if (home.empty()) throw IoError("cannot find the cache folder: set BERTKIT_CACHE or HOME");
  return fs::path(home) / ".cache" / "bertkit";
}

// (c) the cache: {split}.jsonl.gz built once from the verified tarball.
Dataset from_cache(const ImdbOptions& options, const std::string& split) {
  const fs::path dir = cache_root(options) / "datasets" / "imdb";
  if (const auto file = split_file(dir, split)) return read_split_file(*file);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create the cache folder " + dir.string() + ": " + ec.message());
  // Another process may be downloading or converting; the second one waits and reuses.
  hub::FileLock lock(dir / ".lock");
  if (const auto file = split_file(dir, split)) return read_split_file(*file);
  const fs::path tarball = dir / kTarball;
  if (!fs::is_regular_file(tarball)) {
    if (!options.allow_download || env("BERTKIT_OFFLINE") == "1") {
      throw IoError("IMDB is not available offline: no " + split + ".jsonl.gz in " + dir.string() +
                    ", no $BERTKIT_IMDB_DIR, and downloads are off; put " + kTarball + " in " +
                    dir.string() + " or pass a data folder");
    }
    data::download_verified(options.url, tarball, options.sha256, options.progress);
  } else if (const auto actual = core::sha256_file(tarball); actual != options.sha256) {
    throw IoError(tarball.string() + " has SHA-256 " + actual + ", expected " + options.sha256 +
                  "; delete it to download it again");
  }
  auto splits = data::read_imdb_archive(tarball, {"train", "test", "unsupervised"});
  for (const auto& [name, rows] : splits) data::write_imdb_split(rows, dir / (name + ".jsonl.gz"));
  return read_split_file(dir / (split + ".jsonl.gz"));
}

}  // namespace

Dataset Dataset::imdb(std::string_view split_name, const ImdbOptions& options) {
  const std::string split = data::canonical_imdb_split(split_name);
  if (!options.source.empty()) return from_explicit(options.source, split);

  // (b) the offline copy: named by the caller or $BERTKIT_IMDB_DIR (then it must hold the split),
  // else ../shared/data/imdb when it happens to be there.
  if (options.use_offline_copy) {
    fs::path data_dir = options.data_dir;
    if (data_dir.empty()) data_dir = env("BERTKIT_IMDB_DIR");
    if (!data_dir.empty()) {
      if (const auto file = split_file(data_dir, split)) return read_split_file(*file);
      throw IoError("no " + split + ".jsonl.gz in the IMDB data folder " + data_dir.string());
    }
    if (const auto file = split_file(fs::path("..") / "shared" / "data" / "imdb", split)) {
      return read_split_file(*file);
    }
  }
  return from_cache(options, split);
}

}  // namespace bertkit
