// Running a command line (the bertkit CLI) from a test and keeping what it printed.
#pragma once

#include <string>

namespace bertkit::testing {

struct CommandResult {
  int status = -1;     // exit code; -1 when the command could not run or did not exit
  std::string output;  // its stdout (write "2>&1" in the command to include stderr)
};

// Runs `command` through /bin/sh and waits for it.
CommandResult run_command(const std::string& command);

}  // namespace bertkit::testing
