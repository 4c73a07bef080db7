#include "hub/repo_id.h"

#include <string>

#include "bertkit/error.h"

namespace bertkit::hub {

namespace {

bool is_repo_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

void validate_repo_part(std::string_view part, std::string_view repo_id) {
  const auto fail = [&](const std::string& why) {
    throw InvalidArgument("invalid Hugging Face repo id '" + std::string(repo_id) + "': " + why +
                          " (expected 'name' or 'org/name' made of letters, digits, '-', '_', "
                          "'.')");
  };
  if (part.empty()) fail("empty name part");
  for (char c : part) {
    if (!is_repo_char(c)) fail("character '" + std::string(1, c) + "' is not allowed");
  }
  if (part.front() == '-' || part.front() == '.') fail("a part starts with '-' or '.'");
  if (part.back() == '-' || part.back() == '.') fail("a part ends with '-' or '.'");
}

void validate_relative_path(std::string_view path, std::string_view what) {
  const auto fail = [&](const std::string& why) {
    throw InvalidArgument("invalid " + std::string(what) + " '" + std::string(path) + "': " + why);
  };
  if (path.empty()) fail("it is empty");
  if (path.front() == '/') fail("it is an absolute path");
  if (path.find('\\') != std::string_view::npos) fail("backslashes are not allowed");
  if (path.find('\0') != std::string_view::npos) fail("NUL bytes are not allowed");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty()) fail("it has an empty path component");
    if (part == "." || part == "..") fail("'.' and '..' components are not allowed");
    start = end + 1;
  }
}

}  // namespace

bool looks_like_path(std::string_view s) {
  if (s.starts_with("./") || s.starts_with("../") || s.starts_with('/') || s.starts_with('~')) {
    return true;
  }
  if (s == "." || s == "..") return true;
  const auto first = s.find('/');
  return first != std::string_view::npos && s.find('/', first + 1) != std::string_view::npos;
}

void validate_repo_id(std::string_view repo_id) {
  if (repo_id.empty()) throw InvalidArgument("invalid Hugging Face repo id: it is empty");
  if (repo_id.size() > 96) {
    throw InvalidArgument("invalid Hugging Face repo id '" + std::string(repo_id) +
                          "': longer than 96 characters");
  }
  if (repo_id.find("--") != std::string_view::npos ||
      repo_id.find("..") != std::string_view::npos) {
    throw InvalidArgument("invalid Hugging Face repo id '" + std::string(repo_id) +
                          "': '--' and '..' are not allowed");
  }
  const auto slash = repo_id.find('/');
  if (slash == std::string_view::npos) {
    validate_repo_part(repo_id, repo_id);
    return;
  }
  if (repo_id.find('/', slash + 1) != std::string_view::npos) {
    throw InvalidArgument("invalid Hugging Face repo id '" + std::string(repo_id) +
                          "': at most one '/' is allowed");
  }
  validate_repo_part(repo_id.substr(0, slash), repo_id);
  validate_repo_part(repo_id.substr(slash + 1), repo_id);
}

void validate_repo_filename(std::string_view filename) {
  validate_relative_path(filename, "file name in repo");
}

void validate_revision(std::string_view revision) { validate_relative_path(revision, "revision"); }

bool is_commit_hash(std::string_view revision) {
  if (revision.size() != 40) return false;
  for (char c : revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string repo_folder_name(std::string_view repo_id) {
  std::string name = "models--";
  for (char c : repo_id) {
    if (c == '/') {
      name += "--";
    } else {
      name += c;
    }
  }
  return name;
}

}  // namespace bertkit::hub
