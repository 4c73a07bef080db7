// What a `name_or_path` string is: a local path, or a hub repo id, validated like
// huggingface_hub's validate_repo_id so a typo fails here and not as a confusing HTTP error.
#pragma once

#include <string>
#include <string_view>

namespace bertkit::hub {

// "./x", "../x", "/x", "~/x", "~", or anything with more than one '/': the user meant a folder.
bool looks_like_path(std::string_view name_or_path);

// Throws InvalidArgument unless `repo_id` is "name" or "org/name" with parts of
// [A-Za-z0-9._-], neither starting nor ending with '-' or '.', no "--" or "..", at most 96 chars.
void validate_repo_id(std::string_view repo_id);

// Throws InvalidArgument for a file name that could escape the snapshot folder: empty, absolute,
// a ".." or "." component, a backslash, or an empty component.
void validate_repo_filename(std::string_view filename);

// Throws InvalidArgument for a revision that could escape refs/: same rules as a file name.
void validate_revision(std::string_view revision);

// 40 lower-case hex digits: a git commit hash, which never moves, so it needs no network check.
bool is_commit_hash(std::string_view revision);

// "org/name" -> "models--org--name", the folder huggingface_hub uses in the cache.
std::string repo_folder_name(std::string_view repo_id);

}  // namespace bertkit::hub
