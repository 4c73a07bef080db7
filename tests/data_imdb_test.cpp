// Dataset::imdb: the shared offline copy (counts, labels, order), and the original aclImdb
// layout from a small fake tarball built here with libarchive: reviews sorted neg then pos by
// numeric id, unsupervised with label -1, the cache conversion with its SHA-256 check, and
// archives with unsafe paths refused.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <fstream>

#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "core/sha256.h"
#include "data/imdb_source.h"
#include "support/paths.h"

namespace bertkit {
namespace {

namespace fs = std::filesystem;

using Entries = std::vector<std::pair<std::string, std::string>>;  // path, content

// The fake aclImdb: ids chosen so that text order differs from numeric order (2 < 10).
const Entries& fake_reviews() {
  static const Entries entries = {
      {"aclImdb/README", "not a review"},
      {"aclImdb/imdb.vocab", "the\nand\n"},
      {"aclImdb/train/urls_neg.txt", "http://x\n"},
      {"aclImdb/train/labeledBow.feat", "0 0:1\n"},
      {"aclImdb/train/neg/10_2.txt", "train neg ten"},
      {"aclImdb/train/neg/2_1.txt", "train neg two"},
      {"aclImdb/train/neg/0_3.txt", "train neg zero <br />"},
      {"aclImdb/train/pos/11_9.txt", "train pos eleven"},
      {"aclImdb/train/pos/1_10.txt", "train pos one \xE2\x9C\x93"},
      {"aclImdb/train/unsup/5_0.txt", "unsup five"},
      {"aclImdb/train/unsup/40_0.txt", "unsup forty"},
      {"aclImdb/train/unsup/7_0.txt", "unsup seven"},
      {"aclImdb/test/neg/3_4.txt", "test neg three"},
      {"aclImdb/test/pos/100_7.txt", "test pos hundred"},
      {"aclImdb/test/pos/20_8.txt", "test pos twenty"},
  };
  return entries;
}

void write_tarball(const fs::path& file, const Entries& entries) {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, file.c_str()), ARCHIVE_OK);
  for (const auto& [path, content] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

fs::path fake_tarball() {
  static const fs::path file = [] {
    const auto path = testing::make_temp_dir("bertkit-imdb") / "aclImdb_v1.tar.gz";
    write_tarball(path, fake_reviews());
    return path;
  }();
  return file;
}

void expect_fake_splits(const std::function<Dataset(const std::string&)>& load) {
  const Dataset train = load("train");
  EXPECT_EQ(train.texts,
            (std::vector<std::string>{"train neg zero <br />", "train neg two", "train neg ten",
                                      "train pos one \xE2\x9C\x93", "train pos eleven"}));
  EXPECT_EQ(train.labels.ids, (std::vector<std::int64_t>{0, 0, 0, 1, 1}));
  const Dataset test = load("test");
  EXPECT_EQ(test.texts,
            (std::vector<std::string>{"test neg three", "test pos twenty", "test pos hundred"}));
  EXPECT_EQ(test.labels.ids, (std::vector<std::int64_t>{0, 1, 1}));
  const Dataset unsup = load("unsupervised");
  EXPECT_EQ(unsup.texts, (std::vector<std::string>{"unsup five", "unsup seven", "unsup forty"}));
  EXPECT_EQ(unsup.labels.ids, (std::vector<std::int64_t>{-1, -1, -1}));
}

TEST(ImdbShared, TrainSplitCountsLabelsAndOrder) {
  BERTKIT_REQUIRE_SHARED("data/imdb/train.jsonl.gz");
  ImdbOptions options;
  options.data_dir = testing::shared("data/imdb");
  const Dataset train = Dataset::imdb("train", options);
  ASSERT_EQ(train.size(), 25000u);
  ASSERT_EQ(train.labels.type, LabelType::kClassification);
  EXPECT_EQ(std::count(train.labels.ids.begin(), train.labels.ids.end(), 0), 12500);
  EXPECT_EQ(std::count(train.labels.ids.begin(), train.labels.ids.end(), 1), 12500);
  EXPECT_TRUE(std::is_sorted(train.labels.ids.begin(), train.labels.ids.end()));  // neg, then pos
  EXPECT_EQ(train.labels.ids.front(), 0);
  EXPECT_TRUE(
      train.texts.front().starts_with("Story of a man who has unnatural feelings for a pig."));
}

TEST(ImdbShared, TestAndUnsupervisedSplits) {
  BERTKIT_REQUIRE_SHARED("data/imdb/unsupervised.jsonl.gz");
  ImdbOptions options;
  options.data_dir = testing::shared("data/imdb");
  const Dataset test = Dataset::imdb("test", options);
  EXPECT_EQ(test.size(), 25000u);
  EXPECT_EQ(std::count(test.labels.ids.begin(), test.labels.ids.end(), 1), 12500);
  const Dataset unsup = Dataset::imdb("unsup", options);
  EXPECT_EQ(unsup.size(), 50000u);
  EXPECT_EQ(std::count(unsup.labels.ids.begin(), unsup.labels.ids.end(), -1), 50000);
}

TEST(ImdbArchive, ExplicitTarballGivesSplitsInOrder) {
  ImdbOptions options;
  options.source = fake_tarball();
  expect_fake_splits([&](const std::string& split) { return Dataset::imdb(split, options); });
}

TEST(ImdbArchive, ExtractedFolderGivesTheSameSplits) {
  const auto dir = testing::make_temp_dir("bertkit-imdb-folder");
  for (const auto& [path, content] : fake_reviews()) {
    fs::create_directories((dir / path).parent_path());
    std::ofstream(dir / path, std::ios::binary) << content;
  }
  ImdbOptions options;
  options.source = dir;  // the parent of aclImdb/
  expect_fake_splits([&](const std::string& split) { return Dataset::imdb(split, options); });
  options.source = dir / "aclImdb";
  expect_fake_splits([&](const std::string& split) { return Dataset::imdb(split, options); });
}

TEST(ImdbCache, VerifiedTarballIsConvertedOnceIntoSplitFiles) {
  const auto cache = testing::make_temp_dir("bertkit-imdb-cache");
  const auto dir = cache / "datasets" / "imdb";
  fs::create_directories(dir);
  fs::copy_file(fake_tarball(), dir / "aclImdb_v1.tar.gz");
  ImdbOptions options;
  options.cache_dir = cache;
  options.use_offline_copy = false;
  options.allow_download = false;
  options.sha256 = core::sha256_file(fake_tarball());
  expect_fake_splits([&](const std::string& split) { return Dataset::imdb(split, options); });
  for (const char* split : {"train", "test", "unsupervised"}) {
    EXPECT_TRUE(fs::exists(dir / (std::string(split) + ".jsonl.gz"))) << split;
  }
  // Now the split files alone are enough.
  fs::remove(dir / "aclImdb_v1.tar.gz");
  expect_fake_splits([&](const std::string& split) { return Dataset::imdb(split, options); });
}

TEST(ImdbCache, WrongChecksumAndOfflineWithoutDataAreIoErrors) {
  const auto cache = testing::make_temp_dir("bertkit-imdb-cache");
  ImdbOptions options;
  options.cache_dir = cache;
  options.use_offline_copy = false;
  options.allow_download = false;
  try {
    Dataset::imdb("train", options);
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not available offline"), std::string::npos) << e.what();
  }
  fs::create_directories(cache / "datasets" / "imdb");
  fs::copy_file(fake_tarball(), cache / "datasets" / "imdb" / "aclImdb_v1.tar.gz");
  try {
    Dataset::imdb("train", options);  // the real checksum does not match the fake tarball
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("expected c40f74a1"), std::string::npos) << e.what();
  }
}

TEST(ImdbArchive, UnsafePathsAreRefused) {
  const auto dir = testing::make_temp_dir("bertkit-imdb-unsafe");
  for (const std::string bad : {"aclImdb/../../etc/passwd", "/aclImdb/train/neg/0_1.txt"}) {
    const auto file = dir / "bad.tar.gz";
    write_tarball(file, {{"aclImdb/train/neg/0_1.txt", "ok"}, {bad, "evil"}});
    ImdbOptions options;
    options.source = file;
    try {
      Dataset::imdb("train", options);
      ADD_FAILURE() << "expected FormatError for " << bad;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("refusing the archive entry"), std::string::npos)
          << e.what();
    }
  }
}

TEST(ImdbArchive, BadSplitNamesAndNonTarFiles) {
  EXPECT_THROW(Dataset::imdb("validation"), InvalidArgument);
  const auto dir = testing::make_temp_dir("bertkit-imdb-bad");
  std::ofstream(dir / "junk.tar.gz") << "this is not an archive";
  ImdbOptions options;
  options.source = dir / "junk.tar.gz";
  EXPECT_THROW(Dataset::imdb("train", options), Error);
  options.source = dir / "absent";
  EXPECT_THROW(Dataset::imdb("train", options), IoError);
}

}  // namespace
}  // namespace bertkit
