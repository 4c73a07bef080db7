#include "hub/blob_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "bertkit/error.h"
#include "core/progress_bar.h"
#include "hub/downloader.h"
#include "hub/http_client.h"

namespace bertkit::hub {

namespace {

// huggingface_hub retries a broken download five times, resuming each time.
constexpr int kMaxAttempts = 6;

// Owns the file descriptor of blobs/{etag}.incomplete.
class IncompleteFile {
 public:
  explicit IncompleteFile(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot open");
  }
  ~IncompleteFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  IncompleteFile(const IncompleteFile&) = delete;
  IncompleteFile& operator=(const IncompleteFile&) = delete;

  int fd() const { return fd_; }
  int64_t size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("cannot stat");
    return static_cast<int64_t>(st.st_size);
  }
  void truncate() const {
    if (::ftruncate(fd_, 0) != 0) fail("cannot truncate");
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(what + " " + path_.string() + ": " + std::strerror(errno));
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// Writes the body at the right place: appended after `offset` bytes when the server honoured
// the Range request (206), from scratch when it sent the whole file (200).
class FileSink : public HttpBodySink {
 public:
  FileSink(const IncompleteFile& file, int64_t offset, ProgressBar& bar)
      : file_(file), offset_(offset), bar_(bar) {}

  void begin(long status, const HttpHeaders& headers) override {
    started_ = true;
    if (status == 206 && offset_ > 0) {
      // "Content-Range: bytes START-END/TOTAL": a server answering another range than the one
      // asked for would splice the wrong bytes in.
      const auto range = headers.get("Content-Range").value_or("");
      const auto start = range.find("bytes ");
      if (start == std::string::npos ||
          std::strtoll(range.c_str() + start + 6, nullptr, 10) != offset_) {
        wrong_range_ = true;
        return;
      }
      position_ = offset_;
    } else {
      file_.truncate();
      position_ = 0;
      bar_.set(0);
    }
    if (::lseek(file_.fd(), position_, SEEK_SET) < 0) write_error_ = std::strerror(errno);
  }

  bool write(const char* data, size_t size) override {
    if (wrong_range_ || !write_error_.empty()) return false;
    while (size > 0) {
      const ssize_t n = ::write(file_.fd(), data, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        write_error_ = std::strerror(errno);
        return false;
      }
      data += n;
      size -= static_cast<size_t>(n);
      position_ += n;
      bar_.update(n);
    }
    return true;
  }

  bool started() const { return started_; }
  bool wrong_range() const { return wrong_range_; }
  const std::string& write_error() const { return write_error_; }

 private:
  const IncompleteFile& file_;
  int64_t offset_;
  ProgressBar& bar_;
  int64_t position_ = 0;
  bool started_ = false;
  bool wrong_range_ = false;
  std::string write_error_;
};

std::string size_text(int64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

std::string describe_http_error(const HttpResult& result, const std::string& url, bool token_sent) {
  const std::string status = "HTTP " + std::to_string(result.status);
  const auto code = result.headers.get("X-Error-Code").value_or("");
  const auto hub_message = result.headers.get("X-Error-Message");
  const std::string token_hint =
      token_sent ? "the token in HF_TOKEN was sent but not accepted for this repo"
                 : "if it is private or gated, set HF_TOKEN to a Hugging Face access token";
  if (code == "RepoNotFound") {
    return "repository not found: " + url + " (" + status + ", RepoNotFound); check the repo id; " +
           token_hint;
  }
  if (code == "GatedRepo") {
    return "the repo is gated: " + url + " (" + status +
           "); accept its conditions on the hub and set HF_TOKEN to a token of that account" +
           (token_sent ? " (the token sent was not accepted)" : "");
  }
  if (result.status == 401 || result.status == 403) {
    return "access refused: " + url + " (" + status + "); " + token_hint;
  }
  std::string message = status + " from " + url;
  if (hub_message) {
    message += ": " + *hub_message;
  } else if (!result.body.empty()) {
    message += ": " + result.body.substr(0, 200);
  }
  return message;
}

BlobResult download_blob(HttpClient& client, const BlobRequest& request) {
  IncompleteFile file(request.incomplete);
  const int64_t initial = file.size();
  ProgressBar bar({.description = request.display_name,
                   .total = request.expected_size.value_or(0),
                   .initial = initial,
                   .unit = ProgressUnit::kBytes,
                   .enabled = request.progress});
  bool complete = false;
  std::string last_failure;
  for (int attempt = 1; attempt <= kMaxAttempts && !complete; ++attempt) {
    int64_t offset = file.size();
    if (request.expected_size && offset == *request.expected_size) {
      complete = true;  // an earlier run got every byte but did not get to the rename
      break;
    }
    if (request.expected_size && offset > *request.expected_size) {
      file.truncate();  // longer than the file: not a prefix of it, start over
      offset = 0;
    }
    bar.set(offset);
    FileSink sink(file, offset, bar);
    const HttpResult result = client.get(request.url, offset, sink, request.send_token);
    if (!sink.write_error().empty()) {
      throw IoError("cannot write " + request.incomplete.string() + ": " + sink.write_error());
    }
    if (sink.wrong_range()) {
      last_failure = "the server answered a different byte range than requested";
      file.truncate();
      continue;
    }
    if (result.transport_ok()) {
      if (result.status >= 200 && result.status < 300) {
        complete = true;
      } else if (result.status == 416) {
        // Range not satisfiable: the partial file is not a prefix of this blob; start over.
        last_failure = "HTTP 416 for a resume at " + size_text(offset);
        file.truncate();
      } else if (result.status == 404) {
        return BlobResult::kNotFound;
      } else {
        throw IoError("cannot download " + request.display_name + ": " +
                      describe_http_error(result, request.url,
                                          request.send_token && client.settings().token));
      }
      continue;
    }
    last_failure = result.transport_error;
    if (!result.retriable() || attempt == kMaxAttempts) break;
    warn("download of " + request.display_name + " interrupted (" + result.transport_error +
         ") after " + size_text(file.size()) + "; resuming");
    std::this_thread::sleep_for(std::chrono::milliseconds(500) * attempt);
  }
  if (!complete) {
    throw IoError("cannot download " + request.display_name + " from " + request.url + ": " +
                  last_failure + " (" + size_text(file.size()) + " kept in " +
                  request.incomplete.string() + "; run again to resume)");
  }
  const int64_t size = file.size();
  if (request.expected_size && size != *request.expected_size) {
    std::error_code ec;
    std::filesystem::remove(request.incomplete, ec);
    throw IoError("download of " + request.display_name + " from " + request.url + " has " +
                  size_text(size) + " but the server announced " +
                  size_text(*request.expected_size) + "; the partial file was removed");
  }
  bar.close();
  std::error_code ec;
  std::filesystem::rename(request.incomplete, request.blob, ec);
  if (ec) {
    throw IoError("cannot move " + request.incomplete.string() + " to " + request.blob.string() +
                  ": " + ec.message());
  }
  return BlobResult::kDownloaded;
}

}  // namespace bertkit::hub
