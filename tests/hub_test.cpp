// hub.h against a loopback fake of the Hugging Face hub (tests/support/fake_hub_server.h): the
// cache layout huggingface_hub writes, cache reuse, offline mode, resumed downloads, missing
// optional files, tokens, errors, sharded weights, and the HF_* environment.
#include "bertkit/hub.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "bertkit/error.h"
#include "core/sha256.h"
#include "support/fake_hub_server.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using bertkit::HubOptions;
using bertkit::testing::FakeHubServer;

namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";
const std::string kNewCommit = "89abcdef0123456789abcdef0123456789abcdef";
constexpr size_t kWeightsSize = 1536 * 1024 + 77;  // not a multiple of any buffer size

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
  return bytes;
}

// Sets (or unsets, with nullopt) environment variables for one scope.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, std::optional<std::string>>> vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Every variable from_env reads, cleared, so the developer's own settings cannot leak in.
ScopedEnv clean_hf_env(const fs::path& home) {
  return ScopedEnv{{"HF_HUB_CACHE", std::nullopt},
                   {"HUGGINGFACE_HUB_CACHE", std::nullopt},
                   {"HF_HOME", home.string()},
                   {"XDG_CACHE_HOME", std::nullopt},
                   {"HF_ENDPOINT", std::nullopt},
                   {"HF_HUB_OFFLINE", std::nullopt},
                   {"TRANSFORMERS_OFFLINE", std::nullopt},
                   {"HF_TOKEN", std::nullopt},
                   {"HUGGING_FACE_HUB_TOKEN", std::nullopt},
                   {"HF_TOKEN_PATH", std::nullopt},
                   {"HF_HUB_DISABLE_PROGRESS_BARS", std::nullopt},
                   {"HF_HUB_ETAG_TIMEOUT", std::nullopt},
                   {"HF_HUB_DOWNLOAD_TIMEOUT", std::nullopt}};
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = bertkit::testing::make_temp_dir("bertkit-hub-cache");
    server_.add_repo("bert-base-uncased", kCommit);
    for (const char* name :
         {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json"}) {
      files_[name] = read_file(bertkit::testing::fixture(std::string("bert-base-uncased/") + name));
      server_.add_file("bert-base-uncased", name, files_[name]);
    }
    files_["model.safetensors"] = random_bytes(kWeightsSize, 42);
    server_.add_file("bert-base-uncased", "model.safetensors", files_["model.safetensors"],
                     /*lfs=*/true);
    options_.endpoint = server_.endpoint();
    options_.cache_dir = cache_;
    options_.progress = false;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(cache_, ec);
  }

  fs::path repo_dir(const std::string& folder = "models--bert-base-uncased") const {
    return cache_ / folder;
  }

  FakeHubServer server_;
  fs::path cache_;
  HubOptions options_;
  std::map<std::string, std::string> files_;
};

TEST_F(HubTest, DownloadIntoEmptyCacheWritesHuggingfaceHubLayout) {
  const fs::path snapshot = bertkit::resolve_model("bert-base-uncased", options_);

  EXPECT_EQ(snapshot, repo_dir() / "snapshots" / kCommit);
  EXPECT_EQ(read_file(repo_dir() / "refs" / "main"), kCommit);  // no trailing newline
  for (const auto& [name, content] : files_) {
    const fs::path pointer = snapshot / name;
    ASSERT_TRUE(fs::is_symlink(pointer)) << name;
    const std::string etag = server_.etag("bert-base-uncased", name);
    EXPECT_EQ(fs::read_symlink(pointer), fs::path("../../blobs") / etag) << name;
    EXPECT_EQ(read_file(repo_dir() / "blobs" / etag), content) << name;
    EXPECT_EQ(read_file(pointer), content) << name;
  }
  // LFS files are named by their sha256 (X-Linked-Etag), not the CDN's ETag.
  EXPECT_EQ(server_.etag("bert-base-uncased", "model.safetensors"),
            bertkit::core::sha256_hex(files_["model.safetensors"]));
  // Optional files the repo lacks are remembered as absent at that commit.
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / kCommit / "special_tokens_map.json"));
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / kCommit / "added_tokens.json"));
  // safetensors was found, so the pickle and the shard indexes were never asked for.
  EXPECT_EQ(server_.count("HEAD", "pytorch_model.bin"), 0);
  EXPECT_EQ(server_.count("HEAD", ".index.json"), 0);
  for (const auto& entry : fs::directory_iterator(repo_dir() / "blobs")) {
    EXPECT_NE(entry.path().extension(), ".incomplete") << entry.path();
  }
  for (const auto& request : server_.requests()) {
    EXPECT_EQ(request.user_agent, "bertkit/0.1");
    EXPECT_EQ(request.authorization, "");
  }
  // Everything but config.json was asked for at the commit config.json resolved to.
  for (const auto& request : server_.requests()) {
    if (request.path.find("/resolve/") == std::string::npos) continue;
    if (request.path.ends_with("/config.json")) {
      EXPECT_NE(request.path.find("/resolve/main/"), std::string::npos) << request.path;
    } else {
      EXPECT_NE(request.path.find("/resolve/" + kCommit + "/"), std::string::npos) << request.path;
    }
  }
}

TEST_F(HubTest, SecondResolveUsesTheCacheWithOneHeadRequest) {
  const fs::path first = bertkit::resolve_model("bert-base-uncased", options_);
  server_.clear_requests();

  EXPECT_EQ(bertkit::resolve_model("bert-base-uncased", options_), first);
  EXPECT_EQ(server_.count("GET"), 0);
  EXPECT_EQ(server_.count("HEAD"), 1);  // the freshness check of config.json
  EXPECT_EQ(server_.count("HEAD", "/main/config.json"), 1);

  // With the server gone the HEAD fails and the cached snapshot is used (with a warning).
  server_.stop();
  EXPECT_EQ(bertkit::resolve_model("bert-base-uncased", options_), first);
}

TEST_F(HubTest, NewCommitOnTheBranchIsDownloadedIntoANewSnapshot) {
  bertkit::resolve_model("bert-base-uncased", options_);
  server_.add_repo("bert-base-uncased", kNewCommit);  // main moved on
  server_.add_file("bert-base-uncased", "config.json", "{\"changed\": true}");

  const fs::path snapshot = bertkit::resolve_model("bert-base-uncased", options_);
  EXPECT_EQ(snapshot, repo_dir() / "snapshots" / kNewCommit);
  EXPECT_EQ(read_file(repo_dir() / "refs" / "main"), kNewCommit);
  EXPECT_EQ(read_file(snapshot / "config.json"), "{\"changed\": true}");
  // Unchanged blobs are reused: linked from the new snapshot, not fetched again.
  EXPECT_EQ(read_file(snapshot / "model.safetensors"), files_["model.safetensors"]);
  EXPECT_EQ(server_.count("GET", "/cdn/" + server_.etag("bert-base-uncased", "model.safetensors")),
            1);
}

TEST_F(HubTest, OfflineModeUsesTheCacheWithoutNetwork) {
  const fs::path first = bertkit::resolve_model("bert-base-uncased", options_);
  server_.clear_requests();
  options_.offline = true;

  EXPECT_EQ(bertkit::resolve_model("bert-base-uncased", options_), first);
  EXPECT_EQ(bertkit::hub_download("bert-base-uncased", "vocab.txt", options_), first / "vocab.txt");
  EXPECT_EQ(bertkit::hub_download("bert-base-uncased", "added_tokens.json", options_),
            std::nullopt);  // known absent (.no_exist)
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HubTest, OfflineModeWithoutCacheSaysSo) {
  options_.offline = true;
  try {
    bertkit::resolve_model("bert-base-uncased", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("offline"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not in the cache"), std::string::npos) << e.what();
  }
  EXPECT_THROW(bertkit::hub_download("bert-base-uncased", "vocab.txt", options_), bertkit::IoError);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HubTest, OfflineModeReadsAPlainFileSnapshot) {
  // A cache with real files instead of symlinks (what huggingface_hub writes where symlinks are
  // unavailable, or a cache copied around): must read the same.
  write_file(repo_dir() / "refs" / "main", kCommit + "\n");
  const fs::path snapshot = repo_dir() / "snapshots" / kCommit;
  write_file(snapshot / "config.json", files_["config.json"]);
  write_file(snapshot / "model.safetensors", "weights");
  options_.offline = true;
  EXPECT_EQ(bertkit::resolve_model("bert-base-uncased", options_), snapshot);
}

TEST_F(HubTest, InterruptedDownloadIsResumedWithARangeRequest) {
  server_.cut_next_get("model.safetensors", 700000);

  const fs::path snapshot = bertkit::resolve_model("bert-base-uncased", options_);

  EXPECT_EQ(read_file(snapshot / "model.safetensors"), files_["model.safetensors"]);
  std::vector<std::string> ranges;
  for (const auto& request : server_.requests()) {
    if (request.method == "GET" && request.path.starts_with("/cdn/")) {
      ranges.push_back(request.range);
    }
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=700000-"}));
}

TEST_F(HubTest, PartialFileFromAnEarlierRunIsResumed) {
  const std::string& weights = files_["model.safetensors"];
  const std::string etag = server_.etag("bert-base-uncased", "model.safetensors");
  write_file(repo_dir() / "blobs" / (etag + ".incomplete"), weights.substr(0, 500000));

  const auto path = bertkit::hub_download("bert-base-uncased", "model.safetensors", options_);

  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(read_file(*path), weights);
  EXPECT_EQ(server_.count("GET"), 1);
  EXPECT_EQ(server_.requests().back().range, "bytes=500000-");
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / (etag + ".incomplete")));
}

TEST_F(HubTest, ServerIgnoringRangeRestartsFromZero) {
  const std::string& weights = files_["model.safetensors"];
  const std::string etag = server_.etag("bert-base-uncased", "model.safetensors");
  write_file(repo_dir() / "blobs" / (etag + ".incomplete"), weights.substr(0, 300000));
  server_.set_ignore_range(true);  // answers 200 with the whole file

  const auto path = bertkit::hub_download("bert-base-uncased", "model.safetensors", options_);

  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(read_file(*path), weights);  // not the prefix twice
}

TEST_F(HubTest, IncompleteFileLongerThanTheBlobIsDiscarded) {
  const std::string etag = server_.etag("bert-base-uncased", "model.safetensors");
  write_file(repo_dir() / "blobs" / (etag + ".incomplete"), std::string(kWeightsSize + 10, 'x'));

  const auto path = bertkit::hub_download("bert-base-uncased", "model.safetensors", options_);

  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(read_file(*path), files_["model.safetensors"]);
}

TEST_F(HubTest, CompleteIncompleteFileIsRenamedWithoutDownloading) {
  // An earlier run received every byte but stopped before the rename.
  const std::string etag = server_.etag("bert-base-uncased", "model.safetensors");
  write_file(repo_dir() / "blobs" / (etag + ".incomplete"), files_["model.safetensors"]);

  const auto path = bertkit::hub_download("bert-base-uncased", "model.safetensors", options_);

  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(read_file(*path), files_["model.safetensors"]);
  EXPECT_EQ(server_.count("GET"), 0);
}

TEST_F(HubTest, ConcurrentDownloadsOfOneFileShareTheBlob) {
  std::vector<std::optional<fs::path>> paths(4);
  std::vector<std::thread> threads;
  for (auto& path : paths) {
    threads.emplace_back(
        [&] { path = bertkit::hub_download("bert-base-uncased", "model.safetensors", options_); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& path : paths) {
    ASSERT_TRUE(path.has_value());
    EXPECT_EQ(read_file(*path), files_["model.safetensors"]);
  }
  // The lock makes the later threads find the finished blob instead of fetching it again.
  EXPECT_EQ(server_.count("GET"), 1);
}

TEST_F(HubTest, MissingOptionalFileIsNulloptAndMarked) {
  EXPECT_EQ(bertkit::hub_download("bert-base-uncased", "added_tokens.json", options_),
            std::nullopt);
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / kCommit / "added_tokens.json"));
  EXPECT_EQ(read_file(repo_dir() / "refs" / "main"), kCommit);
}

TEST_F(HubTest, TokenIsSentAsBearer) {
  server_.require_token("bert-base-uncased", "hf_secret");
  options_.token = "hf_secret";

  server_.set_cdn_host("localhost");  // LFS downloads go to another host, like the real CDN

  bertkit::resolve_model("bert-base-uncased", options_);

  ASSERT_FALSE(server_.requests().empty());
  int cdn_requests = 0;
  for (const auto& request : server_.requests()) {
    if (request.path.starts_with("/cdn/")) {
      // As huggingface_hub: the token is for the hub, never sent to the CDN.
      EXPECT_EQ(request.authorization, "") << request.path;
      ++cdn_requests;
    } else {
      EXPECT_EQ(request.authorization, "Bearer hf_secret") << request.path;
    }
  }
  EXPECT_EQ(cdn_requests, 1);
}

TEST_F(HubTest, UnauthorizedGivesAClearErrorMentioningHfToken) {
  server_.require_token("bert-base-uncased", "hf_secret");
  try {
    bertkit::resolve_model("bert-base-uncased", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
    EXPECT_NE(message.find("401"), std::string::npos) << message;
  }
  options_.token = "hf_wrong";
  try {
    bertkit::hub_download("bert-base-uncased", "config.json", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not accepted"), std::string::npos) << e.what();
  }
}

TEST_F(HubTest, UnknownRepoAndRevisionAreErrors) {
  try {
    bertkit::resolve_model("nobody/nothing", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("repository not found"), std::string::npos) << e.what();
  }
  options_.revision = "no-such-branch";
  try {
    bertkit::resolve_model("bert-base-uncased", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("revision 'no-such-branch' not found"), std::string::npos)
        << e.what();
  }
}

TEST_F(HubTest, ServerErrorFallsBackToCacheOrNamesStatusAndUrl) {
  server_.set_fail_status(503);
  try {
    bertkit::hub_download("bert-base-uncased", "config.json", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("HTTP 503"), std::string::npos) << message;
    EXPECT_NE(message.find(server_.endpoint() + "/bert-base-uncased/resolve/main/config.json"),
              std::string::npos)
        << message;
  }
  server_.set_fail_status(std::nullopt);
  const fs::path snapshot = bertkit::resolve_model("bert-base-uncased", options_);
  server_.set_fail_status(500);
  EXPECT_EQ(bertkit::resolve_model("bert-base-uncased", options_), snapshot);
}

TEST_F(HubTest, UnreachableServerWithoutCacheIsAnIoError) {
  server_.stop();
  try {
    bertkit::resolve_model("bert-base-uncased", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach"), std::string::npos) << e.what();
  }
}

TEST_F(HubTest, LocalFolderIsReturnedAsIs) {
  const fs::path folder = bertkit::testing::fixture("bert-base-uncased");
  EXPECT_EQ(bertkit::resolve_model(folder.string(), options_), folder);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HubTest, MissingLocalPathsAreIoErrors) {
  for (const char* path :
       {"./no/such/model", "/no/such/model", "~/no-such-model-folder", "a/b/c", "../nowhere"}) {
    try {
      bertkit::resolve_model(path, options_);
      ADD_FAILURE() << path << ": expected IoError";
    } catch (const bertkit::IoError& e) {
      EXPECT_NE(std::string(e.what()).find("no such folder"), std::string::npos) << e.what();
    }
  }
  const fs::path file = bertkit::testing::fixture("bert-base-uncased/config.json");
  EXPECT_THROW(bertkit::resolve_model(file.string(), options_), bertkit::IoError);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HubTest, BadRepoIdsAreRejectedBeforeAnyRequest) {
  for (const char* id : {"", "-bert", "bert-", ".bert", "bert.", "a..b", "a--b", "a b", "bert!",
                         "org/", "org/-x", "Org/na\\me"}) {
    EXPECT_THROW(bertkit::resolve_model(id, options_), bertkit::InvalidArgument) << id;
  }
  EXPECT_THROW(bertkit::resolve_model(std::string(97, 'a'), options_), bertkit::InvalidArgument);
  EXPECT_THROW(bertkit::hub_download("bert-base-uncased", "../../etc/passwd", options_),
               bertkit::InvalidArgument);
  EXPECT_THROW(bertkit::hub_download("bert-base-uncased", "/etc/passwd", options_),
               bertkit::InvalidArgument);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HubTest, ShardedSafetensorsIndexDownloadsEveryShard) {
  server_.add_repo("org/sharded-bert", kCommit);
  server_.add_file("org/sharded-bert", "config.json", files_["config.json"]);
  server_.add_file("org/sharded-bert", "model.safetensors.index.json",
                   R"({"metadata": {"total_size": 300},
                       "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                      "b.weight": "model-00002-of-00002.safetensors",
                                      "c.weight": "model-00001-of-00002.safetensors"}})");
  const std::string shard1 = random_bytes(1000, 1), shard2 = random_bytes(2000, 2);
  server_.add_file("org/sharded-bert", "model-00001-of-00002.safetensors", shard1, true);
  server_.add_file("org/sharded-bert", "model-00002-of-00002.safetensors", shard2, true);

  const fs::path snapshot = bertkit::resolve_model("org/sharded-bert", options_);

  EXPECT_EQ(snapshot, cache_ / "models--org--sharded-bert" / "snapshots" / kCommit);
  EXPECT_EQ(read_file(snapshot / "model-00001-of-00002.safetensors"), shard1);
  EXPECT_EQ(read_file(snapshot / "model-00002-of-00002.safetensors"), shard2);
  EXPECT_TRUE(fs::exists(snapshot / "model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(cache_ / "models--org--sharded-bert" / ".no_exist" / kCommit /
                         "model.safetensors"));
  // Listed twice in the weight map, fetched once.
  const std::string etag1 = server_.etag("org/sharded-bert", "model-00001-of-00002.safetensors");
  EXPECT_EQ(server_.count("GET", "/cdn/" + etag1), 1);
}

TEST_F(HubTest, ShardMissingFromTheRepoIsAnError) {
  server_.add_repo("org/broken", kCommit);
  server_.add_file("org/broken", "config.json", "{}");
  server_.add_file("org/broken", "pytorch_model.bin.index.json",
                   R"({"weight_map": {"a": "pytorch_model-00001-of-00001.bin"}})");
  EXPECT_THROW(bertkit::resolve_model("org/broken", options_), bertkit::IoError);
}

TEST_F(HubTest, PytorchBinIsTheFallbackAndNoWeightsIsAnError) {
  server_.add_repo("org/pickle", kCommit);
  server_.add_file("org/pickle", "config.json", "{}");
  server_.add_file("org/pickle", "pytorch_model.bin", random_bytes(5000, 3), true);
  const fs::path snapshot = bertkit::resolve_model("org/pickle", options_);
  EXPECT_TRUE(fs::exists(snapshot / "pytorch_model.bin"));

  server_.add_repo("org/empty", kCommit);
  server_.add_file("org/empty", "config.json", "{}");
  try {
    bertkit::resolve_model("org/empty", options_);
    FAIL() << "expected IoError";
  } catch (const bertkit::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("has no weights"), std::string::npos) << e.what();
  }

  server_.add_repo("org/no-config", kCommit);
  EXPECT_THROW(bertkit::resolve_model("org/no-config", options_), bertkit::IoError);
}

TEST_F(HubTest, RenamedRepoFollowsTheRelativeRedirect) {
  server_.rename_repo("old-name", "bert-base-uncased");
  const auto path = bertkit::hub_download("old-name", "vocab.txt", options_);
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(*path, repo_dir("models--old-name") / "snapshots" / kCommit / "vocab.txt");
  EXPECT_EQ(read_file(*path), files_["vocab.txt"]);
}

TEST_F(HubTest, ServerWithoutHubHeadersFallsBackToRevisionAndUrlHash) {
  server_.set_send_hub_headers(false);
  const auto path = bertkit::hub_download("bert-base-uncased", "vocab.txt", options_);
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(*path, repo_dir() / "snapshots" / "main" / "vocab.txt");
  const std::string url = server_.endpoint() + "/bert-base-uncased/resolve/main/vocab.txt";
  EXPECT_EQ(fs::read_symlink(*path), fs::path("../../blobs") / bertkit::core::sha256_hex(url));
  EXPECT_EQ(read_file(*path), files_["vocab.txt"]);
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / "main"));  // the revision is its own "commit"
}

TEST_F(HubTest, FileInASubfolderLinksWithTheRightDepth) {
  server_.add_file("bert-base-uncased", "onnx/model.onnx", "onnx bytes");
  const auto path = bertkit::hub_download("bert-base-uncased", "onnx/model.onnx", options_);
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(fs::read_symlink(*path).string().substr(0, 15), "../../../blobs/");
  EXPECT_EQ(read_file(*path), "onnx bytes");
}

TEST_F(HubTest, DefaultOptionsComeFromTheEnvironment) {
  const fs::path home = bertkit::testing::make_temp_dir("bertkit-hf-home");
  const ScopedEnv clean = clean_hf_env(home);
  {
    const ScopedEnv env{{"HF_HUB_CACHE", cache_.string()},
                        {"HF_ENDPOINT", server_.endpoint() + "/"},
                        {"HF_HUB_DISABLE_PROGRESS_BARS", "1"}};
    const fs::path snapshot = bertkit::resolve_model("bert-base-uncased");  // default options
    EXPECT_EQ(snapshot, repo_dir() / "snapshots" / kCommit);
  }
  {
    const ScopedEnv env{{"HF_HUB_CACHE", cache_.string()}, {"HF_HUB_OFFLINE", "yes"}};
    server_.stop();
    EXPECT_EQ(bertkit::resolve_model("bert-base-uncased"), repo_dir() / "snapshots" / kCommit);
  }
  fs::remove_all(home);
}

TEST(HubOptions, FromEnvFollowsHuggingfaceHubPrecedence) {
  const fs::path home = bertkit::testing::make_temp_dir("bertkit-hf-home");
  const ScopedEnv clean = clean_hf_env(home);

  HubOptions options = HubOptions::from_env();
  EXPECT_EQ(options.endpoint, "https://huggingface.co");
  EXPECT_EQ(options.cache_dir, home / "hub");
  EXPECT_EQ(options.revision, "main");
  EXPECT_FALSE(options.offline);
  EXPECT_FALSE(options.token.has_value());
  EXPECT_TRUE(options.progress);
  {
    const ScopedEnv env{{"HF_HOME", std::nullopt}, {"XDG_CACHE_HOME", "/xdg"}};
    EXPECT_EQ(HubOptions::from_env().cache_dir, fs::path("/xdg/huggingface/hub"));
  }
  {
    const ScopedEnv env{{"HF_HOME", std::nullopt}, {"HOME", "/home/someone"}};
    EXPECT_EQ(HubOptions::from_env().cache_dir, fs::path("/home/someone/.cache/huggingface/hub"));
  }
  {
    const ScopedEnv env{{"HF_HUB_CACHE", "/explicit/cache"}, {"XDG_CACHE_HOME", "/xdg"}};
    EXPECT_EQ(HubOptions::from_env().cache_dir, fs::path("/explicit/cache"));
  }
  for (const char* truthy : {"1", "ON", "yes", "True"}) {
    const ScopedEnv env{{"HF_HUB_OFFLINE", truthy}};
    EXPECT_TRUE(HubOptions::from_env().offline) << truthy;
  }
  for (const char* falsy : {"0", "off", "no"}) {
    const ScopedEnv env{{"HF_HUB_OFFLINE", falsy}};
    EXPECT_FALSE(HubOptions::from_env().offline) << falsy;
  }
  {
    const ScopedEnv env{{"HF_TOKEN", "hf_env"}, {"HF_ENDPOINT", "http://mirror.local/"}};
    options = HubOptions::from_env();
    EXPECT_EQ(options.token, "hf_env");
    EXPECT_EQ(options.endpoint, "http://mirror.local");
  }
  {
    // `huggingface-cli login` stores the token in $HF_HOME/token.
    write_file(home / "token", "hf_from_file\n");
    EXPECT_EQ(HubOptions::from_env().token, "hf_from_file");
  }
  {
    const ScopedEnv env{{"HF_HUB_ETAG_TIMEOUT", "soon"}};
    EXPECT_THROW(HubOptions::from_env(), bertkit::InvalidArgument);
  }
  fs::remove_all(home);
}

}  // namespace
