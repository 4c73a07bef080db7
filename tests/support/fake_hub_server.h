// A loopback HTTP server that speaks the part of the Hugging Face hub protocol bertkit uses, so
// the hub tests are hermetic: GET/HEAD /{repo_id}/resolve/{revision}/{filename} with the hub's
// headers (X-Repo-Commit, ETag, X-Linked-Etag/-Size and a 302 to /cdn/{etag} for LFS files,
// X-Error-Code on 401/404), Range requests, and switches to misbehave: cut a body off midway,
// ignore Range, fail every request, omit the hub headers, require a token.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bertkit::testing {

struct RecordedRequest {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // as sent, percent-encoded
  std::string range;   // the Range header, "" when absent
  std::string authorization;
  std::string user_agent;
};

class FakeHubServer {
 public:
  FakeHubServer();  // listens on 127.0.0.1, a free port
  ~FakeHubServer();
  FakeHubServer(const FakeHubServer&) = delete;
  FakeHubServer& operator=(const FakeHubServer&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  void stop();                   // later connections are refused

  void add_repo(const std::string& repo_id, const std::string& commit,
                const std::string& branch = "main");
  // lfs: served like the hub serves LFS files (302 to a CDN path, X-Linked-Etag = sha256).
  void add_file(const std::string& repo_id, const std::string& filename, std::string content,
                bool lfs = false);
  // The blob name the client must use: the ETag (regular) or X-Linked-Etag (LFS).
  std::string etag(const std::string& repo_id, const std::string& filename) const;
  // Requests without "Authorization: Bearer {token}" get 401.
  void require_token(const std::string& repo_id, const std::string& token);
  // Requests for `old_id` get a relative 307 redirect to the same path under `new_id`.
  void rename_repo(const std::string& old_id, const std::string& new_id);

  // The next GET body of `filename` stops after `bytes` bytes and the connection is closed.
  void cut_next_get(const std::string& filename, size_t bytes);
  void set_ignore_range(bool ignore);
  void set_send_hub_headers(bool send);             // false: no X-Repo-Commit, ETag, X-Linked-*
  void set_fail_status(std::optional<int> status);  // answer every request with this status
  // The host name LFS redirects point to ("localhost": another host than 127.0.0.1 for the
  // client, as the real CDN is, while still reaching this server).
  void set_cdn_host(const std::string& host);

  std::vector<RecordedRequest> requests() const;
  // Requests with this method whose path ends with `suffix`.
  int count(const std::string& method, const std::string& suffix = "") const;
  void clear_requests();

 private:
  struct File {
    std::string content;
    std::string etag;
    bool lfs = false;
  };
  struct Repo {
    std::string commit;
    std::vector<std::string> branches;
    std::map<std::string, File> files;
    std::optional<std::string> token;
  };

  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Repo> repos_;
  std::map<std::string, std::string> renamed_;
  std::map<std::string, size_t> cuts_;
  bool ignore_range_ = false;
  bool send_hub_headers_ = true;
  std::optional<int> fail_status_;
  std::string cdn_host_ = "127.0.0.1";
  std::vector<RecordedRequest> requests_;
};

}  // namespace bertkit::testing
