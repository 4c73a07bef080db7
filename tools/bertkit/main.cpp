#include <iostream>

#include "bertkit/error.h"
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"bertkit: BERT in C++ -- tokenize, embed, fine-tune. Hugging Face names and files."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bertkit 0.1.0");
  bertkit::cli::add_tokenize_command(app);
  bertkit::cli::add_embed_command(app);
  bertkit::cli::add_predict_command(app);
  bertkit::cli::add_init_command(app);
  bertkit::cli::add_evaluate_command(app);
  bertkit::cli::add_train_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const bertkit::Error& e) {
    std::cerr << "bertkit: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bertkit: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
