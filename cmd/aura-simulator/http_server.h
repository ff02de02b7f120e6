// HttpServer: serves an Engine over HTTP with cpprestsdk's http_listener. This is the only
// file of the simulator that includes cpprestsdk (STYLE.md). It listens on a private loopback
// port; clients reach it through the FrontDoor.
//
// Delayed responses go through a ReplyScheduler; a dropped connection is a response carrying
// kDropHeader, which the FrontDoor turns into a reset.
//
// Thread-safety: requests are served concurrently on cpprestsdk's thread pool; Start/Stop from
// one thread.
#pragma once

#include <chrono>
#include <memory>

#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/simulator/engine.h"
#include "pkg/simulator/reply_scheduler.h"

namespace aura::simulator {

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // The loopback port the listener bound.
  virtual int port() const = 0;
  // Waits up to `timeout` until every response handed to cpprestsdk has been written out.
  // Returns false on timeout.
  virtual bool AwaitReplies(std::chrono::milliseconds timeout) = 0;
  // Stops accepting and closes every connection. REQUIRES: the scheduler has been shut down,
  // so that no response is still pending.
  virtual void Stop() = 0;
};

// REQUIRES: engine and scheduler outlive the server.
[[nodiscard]] base::StatusOr<std::unique_ptr<HttpServer>> StartHttpServer(Engine* engine,
                                                                          ReplyScheduler* scheduler,
                                                                          base::Logger log);

}  // namespace aura::simulator
