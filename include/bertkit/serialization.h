// Reading and writing the tensor files Hugging Face uses. Every reader validates what it reads
// and throws FormatError (corrupt or hostile content) or IoError (missing / unreadable file)
// with the file name and what is wrong; nothing is trusted from the file.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "bertkit/tensor.h"

namespace bertkit {

using Metadata = std::map<std::string, std::string>;

// model.safetensors: memory-mapped; the returned tensors view the mapping (kept alive by them).
StateDict load_safetensors(const std::filesystem::path& file, Metadata* metadata = nullptr);
// Parses safetensors from memory (the same validation; used by the fuzz target). Copies data.
StateDict parse_safetensors(std::span<const std::byte> bytes, Metadata* metadata = nullptr);
// Writes atomically (temporary file in the same folder, fsync, rename).
void save_safetensors(const std::filesystem::path& file, const StateDict& tensors,
                      const Metadata& metadata = {{"format", "pt"}});

// pytorch_model.bin (torch.save zip + pickle), read by a restricted unpickler that only
// understands what a state dict needs and never executes anything.
StateDict load_pytorch_bin(const std::filesystem::path& file);
// The unpickling step alone, over data.pkl bytes and a storage lookup (used by the fuzz target).
StateDict parse_torch_pickle(std::span<const std::byte> pickle,
                             const std::map<std::string, std::span<const std::byte>>& storages);

// Loads the weights of a model folder as from_pretrained does: model.safetensors, else
// model.safetensors.index.json (shards), else pytorch_model.bin(.index.json).
StateDict load_state_dict(const std::filesystem::path& model_dir);

// NumPy .npy (format 1.0), for `bertkit embed --output x.npy`. Atomic.
void save_npy(const std::filesystem::path& file, const Tensor& tensor);

}  // namespace bertkit
