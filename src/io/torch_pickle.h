// The restricted unpickler behind load_pytorch_bin and parse_torch_pickle.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>

#include "bertkit/tensor.h"

namespace bertkit::io {

// Unpickles a torch state dict (data.pkl). `storages` maps persistent-id keys to the raw
// storage bytes. With an `owner`, contiguous, aligned tensors view the storage bytes (the
// owner keeps them alive); without one every tensor is copied. FormatError names `source`.
StateDict unpickle_state_dict(std::span<const std::byte> pickle,
                              const std::map<std::string, std::span<const std::byte>>& storages,
                              const std::shared_ptr<const void>& owner, const std::string& source);

}  // namespace bertkit::io
