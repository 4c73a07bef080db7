#include "support/fake_hub_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "core/sha256.h"

namespace bertkit::testing {

namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 302:
      return "Found";
    case 307:
      return "Temporary Redirect";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 416:
      return "Range Not Satisfiable";
    default:
      return "Error";
  }
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away; nothing to do in a test server
    sent += static_cast<size_t>(n);
  }
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// Writes a response; `body_bytes` (when smaller) cuts the body off after that many bytes while
// Content-Length still announces the whole body.
void respond(int fd, int status, const Headers& headers, const std::string& body, bool head,
             std::optional<size_t> content_length = std::nullopt,
             size_t body_bytes = std::string::npos) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(content_length.value_or(body.size())) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head) out += body.substr(0, std::min(body_bytes, body.size()));
  send_all(fd, out);
}

}  // namespace

FakeHubServer::FakeHubServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("cannot listen on 127.0.0.1: ") + std::strerror(errno));
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeHubServer::~FakeHubServer() { stop(); }

std::string FakeHubServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeHubServer::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

void FakeHubServer::serve() {
  while (!stopping_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    handle(fd);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }
}

void FakeHubServer::handle(int fd) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  RecordedRequest record;
  std::map<std::string, std::string> headers;
  {
    size_t line_end = request.find("\r\n");
    const std::string first = request.substr(0, line_end);
    const size_t space1 = first.find(' '), space2 = first.rfind(' ');
    if (space1 == std::string::npos || space2 <= space1) return;
    record.method = first.substr(0, space1);
    record.path = first.substr(space1 + 1, space2 - space1 - 1);
    size_t start = line_end + 2;
    while ((line_end = request.find("\r\n", start)) != std::string::npos && line_end > start) {
      const std::string line = request.substr(start, line_end - start);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        headers[lower(line.substr(0, colon))] = value;
      }
      start = line_end + 2;
    }
    record.range = headers["range"];
    record.authorization = headers["authorization"];
    record.user_agent = headers["user-agent"];
  }

  std::unique_lock lock(mutex_);
  requests_.push_back(record);
  const bool head = record.method == "HEAD";
  const std::string& target = record.path;

  if (fail_status_) {
    respond(fd, *fail_status_, {{"X-Error-Message", "the fake hub is failing on purpose"}},
            "failing", head);
    return;
  }

  // Serves `file` with Range support and the one-shot cut-off.
  const auto serve_content = [&](const File& file, const std::string& name, Headers extra) {
    const std::string& content = file.content;
    size_t start = 0;
    int status = 200;
    const std::string range = headers["range"];
    if (!range.empty() && !ignore_range_ && range.starts_with("bytes=")) {
      start = std::stoull(range.substr(6));
      if (start >= content.size()) {
        extra.emplace_back("Content-Range", "bytes */" + std::to_string(content.size()));
        respond(fd, 416, extra, "", head);
        return;
      }
      status = 206;
      extra.emplace_back("Content-Range", "bytes " + std::to_string(start) + "-" +
                                              std::to_string(content.size() - 1) + "/" +
                                              std::to_string(content.size()));
    }
    extra.emplace_back("Accept-Ranges", "bytes");
    const std::string body = content.substr(start);
    size_t cut = std::string::npos;
    if (!head) {
      if (auto it = cuts_.find(name); it != cuts_.end()) {
        cut = it->second;
        cuts_.erase(it);
      }
    }
    respond(fd, status, extra, body, head, body.size(), cut);
  };

  if (target.starts_with("/cdn/")) {
    const std::string etag = target.substr(5);
    for (const auto& [id, repo] : repos_) {
      for (const auto& [name, file] : repo.files) {
        if (file.etag == etag) {
          serve_content(file, name, {{"ETag", "\"cdn-" + etag.substr(0, 16) + "\""}});
          return;
        }
      }
    }
    respond(fd, 404, {}, "no such blob", head);
    return;
  }

  const size_t resolve = target.find("/resolve/");
  if (!target.starts_with('/') || resolve == std::string::npos) {
    respond(fd, 404, {}, "not a resolve URL", head);
    return;
  }
  const std::string repo_id = target.substr(1, resolve - 1);
  const std::string rest = target.substr(resolve + 9);
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) {
    respond(fd, 404, {}, "no file name", head);
    return;
  }
  const std::string revision = percent_decode(rest.substr(0, slash));
  const std::string filename = percent_decode(rest.substr(slash + 1));

  if (auto renamed = renamed_.find(repo_id); renamed != renamed_.end()) {
    respond(fd, 307, {{"Location", "/" + renamed->second + target.substr(resolve)}}, "", head);
    return;
  }
  const auto repo_it = repos_.find(repo_id);
  if (repo_it == repos_.end()) {
    respond(fd, 401,
            {{"X-Error-Code", "RepoNotFound"}, {"X-Error-Message", "Repository not found"}},
            "Repository not found", head);
    return;
  }
  const Repo& repo = repo_it->second;
  if (repo.token && record.authorization != "Bearer " + *repo.token) {
    respond(fd, 401, {{"X-Error-Message", "Invalid credentials in Authorization header"}},
            "Unauthorized", head);
    return;
  }
  const bool known_revision =
      revision == repo.commit ||
      std::find(repo.branches.begin(), repo.branches.end(), revision) != repo.branches.end();
  if (!known_revision) {
    respond(fd, 404, {{"X-Error-Code", "RevisionNotFound"}, {"X-Error-Message", "Invalid rev id"}},
            "Invalid rev id", head);
    return;
  }
  const auto file_it = repo.files.find(filename);
  if (file_it == repo.files.end()) {
    Headers extra{{"X-Error-Code", "EntryNotFound"}, {"X-Error-Message", "Entry not found"}};
    if (send_hub_headers_) extra.emplace_back("X-Repo-Commit", repo.commit);
    respond(fd, 404, extra, "Entry not found", head);
    return;
  }
  const File& file = file_it->second;
  Headers extra;
  if (send_hub_headers_) extra.emplace_back("X-Repo-Commit", repo.commit);
  if (file.lfs && send_hub_headers_) {
    extra.emplace_back("X-Linked-Etag", "\"" + file.etag + "\"");
    extra.emplace_back("X-Linked-Size", std::to_string(file.content.size()));
    extra.emplace_back("ETag", "W/\"pointer-" + file.etag.substr(0, 8) + "\"");
    extra.emplace_back("Location",
                       "http://" + cdn_host_ + ":" + std::to_string(port_) + "/cdn/" + file.etag);
    respond(fd, 302, extra, "", head);
    return;
  }
  if (send_hub_headers_) extra.emplace_back("ETag", "\"" + file.etag + "\"");
  serve_content(file, filename, extra);
}

void FakeHubServer::add_repo(const std::string& repo_id, const std::string& commit,
                             const std::string& branch) {
  std::lock_guard lock(mutex_);
  Repo& repo = repos_[repo_id];
  repo.commit = commit;
  repo.branches.push_back(branch);
}

void FakeHubServer::add_file(const std::string& repo_id, const std::string& filename,
                             std::string content, bool lfs) {
  std::lock_guard lock(mutex_);
  // Like the hub: LFS files are named by their sha256, regular ones by a git blob sha1 (here any
  // 40 hex digits derived from the content and name).
  const std::string sha = core::sha256_hex(content);
  const std::string etag = lfs ? sha : core::sha256_hex(filename + ":" + content).substr(0, 40);
  repos_.at(repo_id).files[filename] = File{std::move(content), etag, lfs};
}

std::string FakeHubServer::etag(const std::string& repo_id, const std::string& filename) const {
  std::lock_guard lock(mutex_);
  return repos_.at(repo_id).files.at(filename).etag;
}

void FakeHubServer::require_token(const std::string& repo_id, const std::string& token) {
  std::lock_guard lock(mutex_);
  repos_.at(repo_id).token = token;
}

void FakeHubServer::rename_repo(const std::string& old_id, const std::string& new_id) {
  std::lock_guard lock(mutex_);
  renamed_[old_id] = new_id;
}

void FakeHubServer::cut_next_get(const std::string& filename, size_t bytes) {
  std::lock_guard lock(mutex_);
  cuts_[filename] = bytes;
}

void FakeHubServer::set_ignore_range(bool ignore) {
  std::lock_guard lock(mutex_);
  ignore_range_ = ignore;
}

void FakeHubServer::set_send_hub_headers(bool send) {
  std::lock_guard lock(mutex_);
  send_hub_headers_ = send;
}

void FakeHubServer::set_fail_status(std::optional<int> status) {
  std::lock_guard lock(mutex_);
  fail_status_ = status;
}

void FakeHubServer::set_cdn_host(const std::string& host) {
  std::lock_guard lock(mutex_);
  cdn_host_ = host;
}

std::vector<RecordedRequest> FakeHubServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

int FakeHubServer::count(const std::string& method, const std::string& suffix) const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(requests_.begin(), requests_.end(), [&](const auto& r) {
    return r.method == method && r.path.ends_with(suffix);
  }));
}

void FakeHubServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

}  // namespace bertkit::testing
