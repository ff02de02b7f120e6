// `aura-controller state migrate --to etcd`: copies a file state (--state FILE, --credentials-dir
// DIR) into an empty etcd prefix for the high-availability mode (docs/OPERATIONS.md "Moving a
// file journal to etcd").
//
// Thread-safety: called from main's thread.
#pragma once

#include "cmd/aura-controller/config.h"

namespace aura::cmd {

// `aura-controller state ...`; returns the exit code.
int StateCommand(const Config& c);

}  // namespace aura::cmd
