// The simulator's HTTP side: serves an Engine through pkg/http's Server on a private loopback
// port; clients reach it through the FrontDoor.
//
// Delayed responses go through a ReplyScheduler; a dropped connection is a response carrying
// kDropHeader, which the FrontDoor turns into a reset; a trickled body carries kTrickleHeader.
//
// Thread-safety: requests are served concurrently; Start/Stop from one thread.
#pragma once

#include <memory>

#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/http/server.h"
#include "pkg/simulator/engine.h"
#include "pkg/simulator/reply_scheduler.h"

namespace aura::simulator {

// Listens on 127.0.0.1 (a free port). REQUIRES: engine and scheduler outlive the server, and the
// scheduler is shut down before Stop(), so that no response is still pending.
[[nodiscard]] base::StatusOr<std::unique_ptr<http::Server>> StartHttpServer(
    Engine* engine, ReplyScheduler* scheduler, base::Logger log);

}  // namespace aura::simulator
