// checkpoint-N/ folders: atomic writing, rotation (save_total_limit) and finding the latest one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>

#include "bertkit/error.h"
#include "bertkit/trainer_state.h"
#include "train/python_json.h"
#include "io/text_file.h"

namespace bertkit {

namespace fs = std::filesystem;

namespace {

// Exactly "checkpoint-<digits>"; HF's pattern ^checkpoint\-(\d+)$.
std::optional<std::int64_t> checkpoint_step(const std::string& name) {
  static const std::regex pattern(R"(^checkpoint-([0-9]{1,18})$)");
  std::smatch m;
  if (!std::regex_match(name, m, pattern)) return std::nullopt;
  return std::stoll(m[1].str());
}

void fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw IoError("cannot open " + path.string() + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError("fsync of " + path.string() + " failed: " + std::strerror(err));
}

fs::path make_unique_dir(const fs::path& parent, const std::string& stem) {
  std::string pattern = (parent / (stem + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw IoError("cannot create a folder in " + parent.string() + ": " + std::strerror(errno));
  }
  return fs::path(pattern);
}

// Removes a folder for good, but never lets a cleanup failure hide the error being reported.
void remove_quietly(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

void save_rng_state(const fs::path& file, const RngStates& states) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, words] : states) j[name] = words;
  io::write_text_file_atomically(file, train::python_json_dumps(j, 2, true) + "\n");
}

RngStates load_rng_state(const fs::path& file) {
  const std::string text = io::read_text_file(file);
  try {
    const auto j = nlohmann::json::parse(text);
    if (!j.is_object()) throw FormatError("the top level must be an object");
    RngStates states;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_array())
        throw FormatError("\"" + it.key() + "\" must be a list of integers");
      for (const auto& word : it.value()) {
        if (!word.is_number_unsigned()) {
          throw FormatError("\"" + it.key() + "\" must hold non-negative 64-bit integers");
        }
        states[it.key()].push_back(word.get<std::uint64_t>());
      }
      states.try_emplace(it.key());
    }
    return states;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(file.string() + ": " + e.what());
  } catch (const FormatError& e) {
    throw FormatError(file.string() + ": " + e.what());
  }
}

std::string checkpoint_folder_name(std::int64_t global_step) {
  return "checkpoint-" + std::to_string(global_step);
}

fs::path save_checkpoint(const fs::path& output_dir, std::int64_t global_step,
                         const CheckpointContents& contents) {
  if (global_step < 0) throw InvalidArgument("save_checkpoint: negative global_step");
  if (contents.args == nullptr || contents.state == nullptr) {
    throw InvalidArgument("save_checkpoint: training arguments and trainer state are required");
  }
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  if (ec) throw IoError("cannot create output_dir " + output_dir.string() + ": " + ec.message());
  const std::string name = checkpoint_folder_name(global_step);
  const fs::path final_dir = output_dir / name;
  const fs::path staging = make_unique_dir(output_dir, name + ".tmp-");
  try {
    if (contents.write_model) contents.write_model(staging);
    if (contents.optimizer != nullptr) contents.optimizer->save(staging / "optimizer.safetensors");
    if (contents.scheduler != nullptr) contents.scheduler->save(staging / "scheduler.json");
    if (contents.rng != nullptr) save_rng_state(staging / "rng_state.json", *contents.rng);
    contents.args->save(staging / "training_args.json");
    contents.state->save(staging / "trainer_state.json");
    // The model writer may not sync; everything must be durable before the rename publishes it.
    for (const auto& entry : fs::recursive_directory_iterator(staging)) {
      if (entry.is_regular_file()) fsync_path(entry.path(), false);
    }
    fsync_path(staging, true);
    fs::path old;
    if (fs::exists(final_dir)) {
      // rename(2) cannot replace a non-empty folder: move the old one aside first.
      old = make_unique_dir(output_dir, name + ".old-");
      fs::remove(old);
      fs::rename(final_dir, old);
    }
    fs::rename(staging, final_dir);
    fsync_path(output_dir, true);
    if (!old.empty()) remove_quietly(old);
  } catch (const fs::filesystem_error& e) {
    remove_quietly(staging);
    throw IoError("cannot write checkpoint " + final_dir.string() + ": " + e.what());
  } catch (...) {
    remove_quietly(staging);
    throw;
  }
  return final_dir;
}

std::optional<fs::path> get_last_checkpoint(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return std::nullopt;
  std::optional<std::int64_t> best;
  fs::path best_path;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const auto step = checkpoint_step(entry.path().filename().string());
    if (!step || !entry.is_directory()) continue;
    if (!fs::is_regular_file(entry.path() / "trainer_state.json")) continue;
    if (!best || *step > *best) {
      best = step;
      best_path = entry.path();
    }
  }
  if (!best) return std::nullopt;
  return best_path;
}

std::vector<fs::path> sorted_checkpoints(const fs::path& output_dir,
                                         const std::optional<std::string>& best_model_checkpoint) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(output_dir, ec)) {
    const auto step = checkpoint_step(entry.path().filename().string());
    if (step && entry.is_directory()) found.emplace_back(*step, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> sorted;
  for (auto& [step, path] : found) sorted.push_back(path);
  if (best_model_checkpoint) {
    const fs::path best = fs::path(*best_model_checkpoint).lexically_normal();
    auto it = std::find_if(sorted.begin(), sorted.end(),
                           [&](const fs::path& p) { return p.lexically_normal() == best; });
    if (it != sorted.end()) {
      // HF bubbles the best checkpoint up to the second-to-last place.
      for (auto i = static_cast<std::size_t>(it - sorted.begin()); i + 2 < sorted.size(); ++i) {
        std::swap(sorted[i], sorted[i + 1]);
      }
    }
  }
  return sorted;
}

std::vector<fs::path> rotate_checkpoints(const fs::path& output_dir,
                                         std::optional<std::int64_t> save_total_limit,
                                         const std::optional<std::string>& best_model_checkpoint) {
  if (!save_total_limit || *save_total_limit <= 0) return {};
  const std::vector<fs::path> sorted = sorted_checkpoints(output_dir, best_model_checkpoint);
  if (static_cast<std::int64_t>(sorted.size()) <= *save_total_limit) return {};
  std::int64_t limit = *save_total_limit;
  // With a limit of 1 and a best checkpoint that is not the newest, keep both so resuming works.
  if (best_model_checkpoint && limit == 1 &&
      sorted.back().lexically_normal() != fs::path(*best_model_checkpoint).lexically_normal()) {
    limit = 2;
  }
  const std::int64_t to_delete =
      std::max<std::int64_t>(0, static_cast<std::int64_t>(sorted.size()) - limit);
  std::vector<fs::path> deleted;
  for (std::int64_t i = 0; i < to_delete; ++i) {
    remove_quietly(sorted[static_cast<std::size_t>(i)]);  // HF: shutil.rmtree(ignore_errors=True)
    deleted.push_back(sorted[static_cast<std::size_t>(i)]);
  }
  return deleted;
}

}  // namespace bertkit
