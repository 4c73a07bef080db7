#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "bertkit/error.h"
#include "data/imdb_source.h"
#include "data/utf8_check.h"

namespace bertkit::data {

namespace {

struct Review {
  std::int64_t id = 0;
  std::string text;
};

// Reviews of one folder (train/neg, ...), sorted by id when a split is assembled.
using Folders = std::map<std::string, std::vector<Review>>;

struct ReviewPath {
  std::string split;   // train / test
  std::string folder;  // neg / pos / unsup
  std::int64_t id = 0;
};

// "{id}_{rating}.txt" -> id.
std::optional<std::int64_t> review_id(const std::string& name) {
  const auto underscore = name.find('_');
  if (underscore == std::string::npos || !name.ends_with(".txt")) return std::nullopt;
  std::int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + underscore, id);
  if (ec != std::errc() || ptr != name.data() + underscore || underscore == 0) return std::nullopt;
  const std::string rating = name.substr(underscore + 1, name.size() - underscore - 5);
  if (rating.empty() || rating.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return id;
}

// The review an archive path names, or nullopt for the other files (urls, .feat, vocab, README).
std::optional<ReviewPath> parse_review_path(const std::vector<std::string>& parts) {
  if (parts.size() < 3) return std::nullopt;
  const auto& split = parts[parts.size() - 3];
  const auto& folder = parts[parts.size() - 2];
  if (split != "train" && split != "test") return std::nullopt;
  if (folder != "neg" && folder != "pos" && !(folder == "unsup" && split == "train")) {
    return std::nullopt;
  }
  const auto id = review_id(parts.back());
  if (!id) return std::nullopt;
  return ReviewPath{split, folder, *id};
}

std::vector<std::string> checked_parts(const std::string& path, const std::string& archive) {
  if (path.empty() || path.front() == '/') {
    throw FormatError(archive + ": refusing the archive entry \"" + path + "\" (an absolute path)");
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") {
      throw FormatError(archive + ": refusing the archive entry \"" + path +
                        "\" (it climbs out of the target folder with \"..\")");
    }
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

void check_text(const std::string& text, const std::string& where) {
  if (const auto bad = find_invalid_utf8(text)) {
    throw FormatError(where + ": invalid UTF-8 at byte " + std::to_string(*bad));
  }
}

ImdbSplit assemble(Folders& folders, const std::string& split) {
  ImdbSplit out;
  const auto take = [&](const std::string& key, std::int64_t label) {
    auto& reviews = folders[key];
    std::sort(reviews.begin(), reviews.end(),
              [](const Review& a, const Review& b) { return a.id < b.id; });
    for (auto& r : reviews) {
      out.texts.push_back(std::move(r.text));
      out.labels.push_back(label);
    }
    reviews.clear();
  };
  if (split == "unsupervised") {
    take("train/unsup", -1);
  } else {
    take(split + "/neg", 0);
    take(split + "/pos", 1);
  }
  return out;
}

std::string folder_key(const ReviewPath& p) { return p.split + "/" + p.folder; }

std::string split_of(const ReviewPath& p) {
  return p.folder == "unsup" ? std::string("unsupervised") : p.split;
}

}  // namespace

std::string canonical_imdb_split(std::string_view split) {
  if (split == "train" || split == "test") return std::string(split);
  if (split == "unsupervised" || split == "unsup") return "unsupervised";
  throw InvalidArgument("unknown IMDB split \"" + std::string(split) +
                        "\" (train, test or unsupervised)");
}

std::map<std::string, ImdbSplit> read_imdb_archive(const std::filesystem::path& tarball,
                                                   const std::set<std::string>& splits) {
  const std::string name = tarball.string();
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), tarball.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw IoError("cannot open " + name + ": " + archive_error_string(a.get()));
  }
  Folders folders;
  archive_entry* entry = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      throw FormatError(name + ": not a readable tar archive: " + archive_error_string(a.get()));
    }
    const char* raw = archive_entry_pathname(entry);
    const std::string path = raw != nullptr ? raw : "";
    const auto parts = checked_parts(path, name);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const auto review = parse_review_path(parts);
    if (!review || !splits.contains(split_of(*review))) continue;
    std::string text;
    if (archive_entry_size_is_set(entry)) {
      text.reserve(static_cast<std::size_t>(std::max<la_int64_t>(0, archive_entry_size(entry))));
    }
    char buffer[1 << 14];
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), buffer, sizeof buffer);
      if (n < 0) {
        throw FormatError(name + ": cannot read " + path + ": " + archive_error_string(a.get()));
      }
      if (n == 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
    }
    check_text(text, name + ": " + path);
    folders[folder_key(*review)].push_back({review->id, std::move(text)});
  }
  std::map<std::string, ImdbSplit> out;
  for (const auto& split : splits) out[split] = assemble(folders, split);
  return out;
}

ImdbSplit read_imdb_folder(const std::filesystem::path& acl_imdb, const std::string& split) {
  Folders folders;
  const std::vector<std::string> subfolders =
      split == "unsupervised" ? std::vector<std::string>{"train/unsup"}
                              : std::vector<std::string>{split + "/neg", split + "/pos"};
  for (const auto& sub : subfolders) {
    const auto dir = acl_imdb / sub;
    if (!std::filesystem::is_directory(dir)) {
      throw IoError("IMDB folder " + acl_imdb.string() + " has no " + sub + "/");
    }
    for (const auto& file : std::filesystem::directory_iterator(dir)) {
      if (!file.is_regular_file()) continue;
      const auto id = review_id(file.path().filename().string());
      if (!id) continue;
      std::ifstream in(file.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) throw IoError("cannot read " + file.path().string());
      check_text(text, file.path().string());
      folders[sub].push_back({*id, std::move(text)});
    }
  }
  return assemble(folders, split);
}

void write_imdb_split(const ImdbSplit& split, const std::filesystem::path& file) {
  const auto temp = file.string() + ".tmp." + std::to_string(::getpid());
  gzFile out = gzopen(temp.c_str(), "wb6");
  if (out == nullptr) throw IoError("cannot create " + temp);
  bool ok = true;
  for (std::size_t i = 0; i < split.texts.size() && ok; ++i) {
    nlohmann::ordered_json row;
    row["text"] = split.texts[i];
    row["label"] = split.labels[i];
    const std::string line = row.dump() + "\n";
    ok = gzwrite(out, line.data(), static_cast<unsigned>(line.size())) ==
         static_cast<int>(line.size());
  }
  ok = (gzclose(out) == Z_OK) && ok;
  std::error_code ec;
  if (ok) std::filesystem::rename(temp, file, ec);
  if (!ok || ec) {
    std::filesystem::remove(temp, ec);
    throw IoError("cannot write " + file.string() + (ok ? ": " + ec.message() : ""));
  }
}

Dataset to_dataset(ImdbSplit split, std::string source) {
  Dataset d = Dataset::from_texts(std::move(split.texts), std::move(split.labels));
  d.source = std::move(source);
  return d;
}

}  // namespace bertkit::data
