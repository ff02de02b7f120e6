#include "cmd/aura-simulator/http_server.h"

#include <string>

#include "cmd/aura-simulator/front_door.h"

namespace aura::simulator {
namespace {

http::Reply ToReply(const SimResponse& resp) {
  http::Reply out;
  out.status = resp.status;
  out.body = resp.body;
  out.content_type = "application/json";
  for (const auto& [k, v] : resp.headers) {
    if (http::EqualsIgnoreCase(k, "Content-Type")) {
      out.content_type = v;
    } else {
      out.headers.emplace_back(k, v);
    }
  }
  if (resp.disposition == Disposition::kDropConnection) out.headers.emplace_back(kDropHeader, "1");
  if (resp.trickle_chunk > 0) {
    out.headers.emplace_back(
        kTrickleHeader, std::to_string(resp.trickle_chunk) + "/" +
                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               resp.trickle_interval)
                                               .count()));
  }
  return out;
}

}  // namespace

base::StatusOr<std::unique_ptr<http::Server>> StartHttpServer(Engine* engine,
                                                              ReplyScheduler* scheduler,
                                                              base::Logger log) {
  return http::StartServer("127.0.0.1:0", [engine, scheduler, log](http::ServerRequest req,
                                                                   http::Respond respond) {
    SimRequest sim;
    sim.method = std::move(req.method);
    sim.path = std::move(req.path);
    sim.query = std::move(req.query);
    sim.headers = std::move(req.headers);
    sim.body = std::move(req.body);
    const base::TimePoint received = base::RealClock().Now();
    SimResponse resp = engine->Handle(sim);
    if (log.Enabled(base::LogLevel::kDebug)) {
      log.Debug(
          "request",
          {{"method", sim.method},
           {"path", sim.path},
           {"route", resp.route},
           {"status", resp.status},
           {"request_id", resp.request_id},
           {"delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(resp.delay).count()},
           {"dropped", resp.disposition == Disposition::kDropConnection},
           {"faults", resp.faults}});
    }
    http::Reply reply = ToReply(resp);
    if (resp.delay.count() > 0) {
      scheduler->At(received + resp.delay,
                    [respond, reply = std::move(reply)]() mutable { respond(std::move(reply)); });
    } else {
      respond(std::move(reply));
    }
  });
}

}  // namespace aura::simulator
