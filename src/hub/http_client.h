// A small libcurl wrapper for the hub: HEAD without following redirects (the hub's metadata sits
// on the first response, before the redirect to the CDN), and a streaming GET that follows
// redirects and can resume with a Range request. One handle is reused so consecutive requests
// to one host share a connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bertkit::hub {

class HttpHeaders {
 public:
  void add(std::string name, std::string value);
  void clear() { entries_.clear(); }
  // Case-insensitive, the first match.
  std::optional<std::string> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct HttpSettings {
  std::string user_agent = "bertkit/0.1";
  std::optional<std::string> token;  // sent as "Authorization: Bearer ..." (not across hosts)
  long connect_timeout_s = 10;
  long head_timeout_s = 10;  // whole HEAD request ($HF_HUB_ETAG_TIMEOUT)
  long read_timeout_s = 10;  // a GET stalled this long fails ($HF_HUB_DOWNLOAD_TIMEOUT)
};

struct HttpResult {
  int curl_code = 0;  // CURLcode; 0 means the exchange completed
  std::string transport_error;
  long status = 0;      // of the last response (after redirects for GET)
  HttpHeaders headers;  // of the last response
  std::string body;     // a non-2xx response's body, truncated; 2xx bodies go to the sink

  bool transport_ok() const { return curl_code == 0; }
  // The connection broke or timed out: trying again (and resuming) may succeed.
  bool retriable() const;
};

// Receives a 2xx response body as it arrives.
class HttpBodySink {
 public:
  virtual ~HttpBodySink() = default;
  // Once, before the first byte of a 2xx body (status 200 or 206 tells whether Range was honoured).
  virtual void begin(long status, const HttpHeaders& headers) = 0;
  // false aborts the transfer (the sink keeps its own reason).
  virtual bool write(const char* data, size_t size) = 0;
};

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult head(const std::string& url);
  // range_start > 0 asks for "Range: bytes={range_start}-". send_token false leaves the token
  // out (a download from the CDN, another host than the hub, must not receive it).
  HttpResult get(const std::string& url, int64_t range_start, HttpBodySink& sink,
                 bool send_token = true);

  const HttpSettings& settings() const { return settings_; }

 private:
  HttpResult perform(const std::string& url, bool head, int64_t range_start, HttpBodySink* sink,
                     bool send_token);

  HttpSettings settings_;
  void* curl_ = nullptr;  // CURL*, kept out of the header
};

}  // namespace bertkit::hub
