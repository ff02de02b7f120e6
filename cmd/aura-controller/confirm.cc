// Confirmation of destructive commands (snapshots.h).
#include <iostream>

#include "cmd/aura-controller/snapshots.h"

namespace aura::cmd {

bool Confirmed(bool yes, bool terminal, const std::string& prompt,
               const std::function<bool(std::string*)>& read_line, std::string* why) {
  if (yes) return true;
  if (!terminal) {
    *why = "refused: not on a terminal and --yes not given";
    return false;
  }
  std::cerr << prompt << " Type yes to go on: " << std::flush;
  std::string answer;
  if (!read_line(&answer) || answer != "yes") {
    *why = "refused: not confirmed";
    return false;
  }
  return true;
}

}  // namespace aura::cmd
