// load_state_dict finds the weights of a model folder the way from_pretrained does: single
// safetensors, sharded safetensors, pytorch_model.bin, sharded bins; every layout of the golden
// tiny weights must give the golden tensors, and inconsistent folders are refused.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "bertkit/serialization.h"
#include "support/paths.h"

namespace bertkit {
namespace {

using ::bertkit::testing::fixture;
namespace fs = std::filesystem;

void expect_golden_tiny(const StateDict& sd) {
  const auto golden = load_safetensors(fixture("golden/tiny/model.safetensors"));
  ASSERT_EQ(sd.size(), golden.size());
  for (const auto& [name, t] : golden) {
    ASSERT_TRUE(sd.contains(name)) << name;
    ASSERT_EQ(sd.at(name).shape(), t.shape()) << name;
    EXPECT_EQ(std::memcmp(sd.at(name).data(), t.data(), t.nbytes()), 0) << name;
  }
}

// Appends "name":"shard" to a weight_map body (appends, not operator+ chains, which make gcc 12
// warn falsely with -Wrestrict).
void add_entry(std::string& map, const std::string& name, const std::string& shard) {
  if (!map.empty()) map += ',';
  map.append("\"").append(name).append("\":\"").append(shard).append("\"");
}

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

class StateDictFolder : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ::bertkit::testing::make_temp_dir("bertkit-sd"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Splits the golden tiny weights into two safetensors shards plus an index.
  void write_two_shards(const std::string& extra_index_entry = "") {
    const auto golden = load_safetensors(fixture("golden/tiny/model.safetensors"));
    StateDict first, second;
    std::string map;
    for (const auto& [name, t] : golden) {
      const bool in_first = name.starts_with("bert.embeddings");
      (in_first ? first : second).emplace(name, t);
      const std::string shard =
          in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
      add_entry(map, name, shard);
    }
    save_safetensors(dir_ / "model-00001-of-00002.safetensors", first);
    save_safetensors(dir_ / "model-00002-of-00002.safetensors", second);
    write_text(
        dir_ / "model.safetensors.index.json",
        R"({"metadata":{"total_size":212616},"weight_map":{)" + map + extra_index_entry + "}}");
  }

  fs::path dir_;
};

TEST_F(StateDictFolder, GoldenFolderLoadsItsSafetensors) {
  expect_golden_tiny(load_state_dict(fixture("golden/tiny")));
}

TEST_F(StateDictFolder, PytorchBinAlone) {
  fs::copy_file(fixture("golden/tiny/pytorch_model.bin"), dir_ / "pytorch_model.bin");
  expect_golden_tiny(load_state_dict(dir_));
}

TEST_F(StateDictFolder, ShardedSafetensors) {
  write_two_shards();
  expect_golden_tiny(load_state_dict(dir_));
}

TEST_F(StateDictFolder, ShardedPytorchBin) {
  fs::copy_file(fixture("torch-bin/tiny_deflated.bin"), dir_ / "pytorch_model-00001-of-00001.bin");
  const auto golden = load_safetensors(fixture("golden/tiny/model.safetensors"));
  std::string map;
  for (const auto& [name, t] : golden) {
    add_entry(map, name, "pytorch_model-00001-of-00001.bin");
  }
  write_text(dir_ / "pytorch_model.bin.index.json", R"({"weight_map":{)" + map + "}}");
  expect_golden_tiny(load_state_dict(dir_));
}

TEST_F(StateDictFolder, EmptyFolderSaysWhatWasLookedFor) {
  try {
    load_state_dict(dir_);
    FAIL();
  } catch (const IoError& e) {
    const std::string what = e.what();
    for (const char* name : {"model.safetensors,", "model.safetensors.index.json",
                             "pytorch_model.bin ", "pytorch_model.bin.index.json"}) {
      EXPECT_NE(what.find(name), std::string::npos) << what;
    }
  }
  EXPECT_THROW(load_state_dict(dir_ / "nope"), IoError);
}

TEST_F(StateDictFolder, MissingShardIsAnIoError) {
  write_two_shards();
  fs::remove(dir_ / "model-00002-of-00002.safetensors");
  try {
    load_state_dict(dir_);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors, which is missing"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(StateDictFolder, IndexListingATensorNoShardHolds) {
  write_two_shards(R"(,"ghost.weight":"model-00001-of-00002.safetensors")");
  EXPECT_THROW(load_state_dict(dir_), FormatError);
}

TEST_F(StateDictFolder, TensorInTwoShardsIsRefused) {
  write_two_shards();
  StateDict dup;
  dup.emplace("classifier.bias", Tensor(DType::kF32, {2}));
  dup.emplace("bert.embeddings.LayerNorm.bias", Tensor(DType::kF32, {32}));
  save_safetensors(dir_ / "model-00001-of-00002.safetensors", dup);
  try {
    load_state_dict(dir_);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'classifier.bias'"), std::string::npos) << e.what();
  }
}

TEST_F(StateDictFolder, ShardNamesMustStayInTheFolder) {
  write_text(dir_ / "model.safetensors.index.json", R"({"weight_map":{"a":"../../etc/passwd"}})");
  EXPECT_THROW(load_state_dict(dir_), FormatError);
  write_text(dir_ / "model.safetensors.index.json", R"({"weight_map":{"a":7}})");
  EXPECT_THROW(load_state_dict(dir_), FormatError);
  write_text(dir_ / "model.safetensors.index.json", R"({"weight_map":)");
  EXPECT_THROW(load_state_dict(dir_), FormatError);
  write_text(dir_ / "model.safetensors.index.json", R"({"weights":{}})");
  EXPECT_THROW(load_state_dict(dir_), FormatError);
}

}  // namespace
}  // namespace bertkit
