#include "hub/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "bertkit/error.h"

namespace bertkit::hub {

namespace {

constexpr size_t kMaxErrorBody = 4096;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// State shared with the libcurl callbacks during one request.
struct Transfer {
  HttpResult* result = nullptr;
  HttpBodySink* sink = nullptr;
  bool began = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response in a redirect chain: only the last one's headers describe the body.
    transfer->result->headers.clear();
    const auto space = line.find(' ');
    if (space != std::string_view::npos) {
      transfer->result->status =
          std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->result->headers.add(std::string(trim(line.substr(0, colon))),
                                  std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  HttpResult& result = *transfer->result;
  if (result.status < 200 || result.status >= 300 || transfer->sink == nullptr) {
    const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, result.body.size());
    result.body.append(data, std::min(room, bytes));
    return bytes;
  }
  if (!transfer->began) {
    transfer->began = true;
    transfer->sink->begin(result.status, result.headers);
  }
  return transfer->sink->write(data, bytes) ? bytes : 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

void HttpHeaders::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

bool HttpResult::retriable() const {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

HttpClient::HttpClient(HttpSettings settings) : settings_(std::move(settings)) {
  global_init();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw IoError("cannot initialise libcurl");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResult HttpClient::head(const std::string& url) { return perform(url, true, 0, nullptr, true); }

HttpResult HttpClient::get(const std::string& url, int64_t range_start, HttpBodySink& sink,
                           bool send_token) {
  return perform(url, false, range_start, &sink, send_token);
}

HttpResult HttpClient::perform(const std::string& url, bool head, int64_t range_start,
                               HttpBodySink* sink, bool send_token) {
  CURL* curl = static_cast<CURL*>(curl_);
  // Reset clears the options but keeps the connection cache, so keep-alive still works.
  curl_easy_reset(curl);
  HttpResult result;
  Transfer transfer{&result, sink, false};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  // identity: Content-Length must be the file size, which the hub reports and we check.
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  if (settings_.token && send_token) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + *settings_.token).c_str());
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, settings_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, settings_.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  if (head) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, settings_.head_timeout_s);
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    // No overall timeout (a large file takes long); a stalled transfer fails instead.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, settings_.read_timeout_s);
    if (range_start > 0) {
      const std::string range = std::to_string(range_start) + "-";
      curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
      // CURLOPT_RANGE copies the string, so `range` may go out of scope.
    }
  }

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  result.curl_code = static_cast<int>(code);
  if (code != CURLE_OK) {
    result.transport_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  }
  long status = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status != 0) {
    result.status = status;
  }
  // An empty 2xx body never reached on_body; the sink still needs to know it started.
  if (code == CURLE_OK && sink != nullptr && !transfer.began && result.status >= 200 &&
      result.status < 300) {
    sink->begin(result.status, result.headers);
  }
  return result;
}

}  // namespace bertkit::hub
