// json.dumps as Python writes it (indent, sort_keys, ensure_ascii, float repr, NaN/Infinity), so
// trainer_state.json and training_args.json are byte-identical to what transformers writes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace bertkit::train {

// json.dumps(value, indent=indent, sort_keys=sort_keys); indent < 0 means a single line with
// Python's default separators (", " and ": ").
std::string python_json_dumps(const nlohmann::ordered_json& value, int indent, bool sort_keys);

}  // namespace bertkit::train
