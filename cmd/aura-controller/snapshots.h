// Operator commands on snapshots (issue 22, docs/OPERATIONS_AURA.md):
//   aura-controller snapshot create NS/NAME [--wait]   take a snapshot (POST .../snapshots)
//   aura-controller snapshot list NS/NAME              the instance's snapshots
//   aura-controller restore NS/NAME --snapshot ID      restore it (POST .../restore), --yes
//   aura-controller overwrite NS/NAME --from NS2/NAME2 [--snapshot ID]
//                                                      its data replaced by another's, --yes
// NS/NAME is a spec key resolved to its instance id through the journal, read-only (it works
// while a controller runs); an Aura instance id is accepted as well with --instance-id. Every
// request goes through the usual client: the shared rate limiter, the token cache, X-Request-Id
// in errors.
#pragma once

#include <functional>
#include <string>

#include "cmd/aura-controller/common.h"
#include "cmd/aura-controller/config.h"

namespace aura::cmd {

// SIGINT/SIGTERM stop a wait (the operation itself goes on in Aura) and exit 1.
int Snapshot(const Config& c, SignalWaiter& signals);
int Restore(const Config& c, SignalWaiter& signals);
int Overwrite(const Config& c, SignalWaiter& signals);

// Whether a destructive command may go on: --yes, or "yes" typed on a terminal after `prompt`.
// `read_line` returns false on end of input. Without --yes and without a terminal: refused.
bool Confirmed(bool yes, bool terminal, const std::string& prompt,
               const std::function<bool(std::string*)>& read_line, std::string* why);

}  // namespace aura::cmd
