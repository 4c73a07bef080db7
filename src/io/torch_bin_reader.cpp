// pytorch_model.bin: the torch.save zip archive. Entries are <prefix>/data.pkl (the pickled
// state dict), <prefix>/data/<key> (one raw little-endian storage per key), <prefix>/version,
// and in newer versions <prefix>/byteorder.
#include <deque>

#include "bertkit/serialization.h"
#include "io/mapped_file.h"
#include "io/torch_pickle.h"
#include "io/torch_zip.h"

namespace bertkit {

namespace {

// What the loaded tensors keep alive: the mapped archive (stored entries are viewed in place)
// and the inflated copies of deflated entries.
struct TorchArchive {
  std::shared_ptr<const io::MappedFile> file;
  std::deque<std::vector<std::byte>> inflated;
};

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

StateDict load_pytorch_bin(const std::filesystem::path& file) {
  auto archive = std::make_shared<TorchArchive>();
  archive->file = io::MappedFile::open(file);
  const std::string source = file.string();
  const auto bytes = archive->file->bytes();
  if (bytes.size() >= 2 && bytes[0] == std::byte{0x80}) {
    throw FormatError(source +
                      ": this is a legacy (pre-1.6, non-zip) torch.save file, which is not "
                      "supported; re-save it with a recent torch or as safetensors");
  }
  const io::ZipReader zip(bytes, source);

  const io::ZipEntry* pickle_entry = nullptr;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash) == "/data.pkl") {
      pickle_entry = &e;
      break;
    }
  }
  if (pickle_entry == nullptr) {
    throw FormatError(source + ": not a torch.save archive (no <prefix>/data.pkl entry)");
  }
  const std::string prefix = pickle_entry->name.substr(0, pickle_entry->name.find('/') + 1);
  std::vector<std::byte> scratch;
  if (const auto* order = zip.find(prefix + "byteorder")) {
    if (as_text(zip.read(*order, scratch)) != "little") {
      throw FormatError(source + ": tensors were saved big-endian, which is not supported");
    }
  }
  if (const auto* version = zip.find(prefix + "version")) {
    const auto text = as_text(zip.read(*version, scratch));
    if (text.empty() || text.find_first_not_of("0123456789\n\r") != std::string_view::npos) {
      throw FormatError(source + ": unreadable format version in " + version->name);
    }
  }

  std::map<std::string, std::span<const std::byte>> storages;
  const std::string data_prefix = prefix + "data/";
  for (const auto& e : zip.entries()) {
    if (e.name.size() <= data_prefix.size() || e.name.compare(0, data_prefix.size(), data_prefix)) {
      continue;
    }
    std::vector<std::byte> inflated;
    auto storage = zip.read(e, inflated);
    if (e.method != 0) {
      archive->inflated.push_back(std::move(inflated));
      storage = archive->inflated.back();
    }
    storages.emplace(e.name.substr(data_prefix.size()), storage);
  }
  std::vector<std::byte> pickle_scratch;
  const auto pickle = zip.read(*pickle_entry, pickle_scratch);
  return io::unpickle_state_dict(pickle, storages, archive,
                                 source + " (" + pickle_entry->name + ")");
}

}  // namespace bertkit
