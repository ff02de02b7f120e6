// Command-line flags of aura-simulator: parsing into SimulatorOptions and the --help text.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "pkg/base/status.h"
#include "pkg/simulator/options.h"

namespace aura::simulator {

struct ParsedFlags {
  SimulatorOptions options;
  bool help = false;
  bool version = false;
};

// Parses argv[1..] ("--flag value" or "--flag=value"). Errors are kInvalidArgument naming the
// flag. Defaults are applied (one tenant, one client) when none were given.
[[nodiscard]] base::StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args);

std::string Usage();

}  // namespace aura::simulator
