// hub_download: one file, like huggingface_hub's hf_hub_download.
#include "bertkit/error.h"
#include "bertkit/hub.h"
#include "hub/downloader.h"

namespace bertkit {

std::optional<std::filesystem::path> hub_download(std::string_view repo_id,
                                                  std::string_view filename,
                                                  const HubOptions& options) {
  hub::Downloader downloader(options);
  const auto lookup = downloader.fetch(repo_id, filename, options.revision);
  switch (lookup.status) {
    case hub::FileStatus::kFound:
      return lookup.path;
    case hub::FileStatus::kAbsent:
      return std::nullopt;
    case hub::FileStatus::kUnavailable:
      break;
  }
  throw IoError(lookup.reason);
}

}  // namespace bertkit
