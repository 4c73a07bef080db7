// Each subcommand of the `bertkit` CLI lives in its own file and registers itself here.
// The CLI only parses flags and prints; all work is done through the public API.
#pragma once

#include <CLI/CLI.hpp>

namespace bertkit::cli {

void add_tokenize_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_init_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_train_command(CLI::App& app);

}  // namespace bertkit::cli
