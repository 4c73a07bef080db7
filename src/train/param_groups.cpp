// Which parameters get weight decay, as Trainer.get_decay_parameter_names decides it.
#include <string>

#include "bertkit/optimization.h"

namespace bertkit {

bool is_decay_parameter(std::string_view name) {
  // HF drops every name containing "bias" (a substring test, kept as such) and every parameter
  // of a LayerNorm module; BERT names those modules "LayerNorm", other models "layer_norm".
  if (name.find("bias") != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view part = name.substr(start, dot - start);
    if (part == "LayerNorm" || part == "layer_norm") return false;
    start = dot + 1;
  }
  return true;
}

std::vector<std::string> get_decay_parameter_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (is_decay_parameter(name)) out.push_back(name);
  }
  return out;
}

std::vector<ParamGroup> trainer_param_groups(const std::vector<ParameterSlice>& slices,
                                             double weight_decay) {
  std::vector<ParamGroup> groups(2);
  groups[0].weight_decay = weight_decay;
  groups[1].weight_decay = 0.0;
  for (const auto& slice : slices)
    groups[is_decay_parameter(slice.name) ? 0 : 1].params.push_back(slice);
  return groups;
}

}  // namespace bertkit
