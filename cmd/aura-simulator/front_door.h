// FrontDoor: the TCP socket clients of aura-simulator connect to. It forwards every connection
// byte for byte to the cpprestsdk listener on a private loopback port, and exists for two
// things cpprestsdk's listener cannot do:
//   - report the port it bound when asked for port 0;
//   - drop a connection without sending one byte of response. When a response carries the
//     header named kDropHeader, the front door sends nothing of it, discards the client's
//     socket with SO_LINGER 0 (the client sees ECONNRESET) and closes the upstream connection;
//   - trickle a response: kTrickleHeader "CHUNK/MS" (removed before forwarding) makes it send
//     the status line and headers at once, then the body CHUNK bytes every MS milliseconds.
// Responses are framed by Content-Length (the simulator always sets it); anything else is
// passed through untouched.
//
// Thread-safety: Start/Stop from one thread; connections are served on threads of their own
// (two per connection).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pkg/base/log.h"
#include "pkg/base/status.h"

namespace aura::simulator {

inline constexpr char kDropHeader[] = "X-Aura-Sim-Drop";
inline constexpr char kTrickleHeader[] = "X-Aura-Sim-Trickle";

class FrontDoor {
 public:
  // Listens on host:port (port 0 picks one) and forwards to 127.0.0.1:upstream_port.
  [[nodiscard]] static base::StatusOr<std::unique_ptr<FrontDoor>> Start(const std::string& host,
                                                                        int port, int upstream_port,
                                                                        base::Logger log);
  ~FrontDoor();

  int port() const { return port_; }

  // Closes the listening socket; connections already accepted carry on.
  void StopAccepting();
  // StopAccepting(), gives connections up to `grace` to forward what the upstream sent before
  // closing them, then shuts every connection down and joins its threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

 private:
  struct Conn {
    int client = -1;
    int upstream = -1;
    std::mutex mu;
    bool closed = false;  // GUARDED_BY(mu)
    std::atomic<bool> drop{false};
    std::atomic<int> finished{0};
    std::atomic<bool> forwarded{false};  // the upstream -> client direction is done
    std::thread to_upstream, to_client;
  };

  FrontDoor(int listen_fd, int port, int upstream_port, base::Logger log);
  void AcceptLoop(std::stop_token stop);
  void Serve(int client_fd);
  void ClientToUpstream(Conn* c);
  void UpstreamToClient(Conn* c);
  void Finish(Conn* c);
  // Sends `n` bytes `chunk` at a time, `interval` apart; false when the client is gone or the
  // front door stops.
  bool Trickle(Conn* c, const char* data, size_t n, size_t chunk,
               std::chrono::milliseconds interval);
  void Reap(bool all);

  int listen_fd_;
  int port_;
  int upstream_port_;
  int wake_[2] = {-1, -1};  // a pipe that wakes the accept loop
  base::Logger log_;
  std::mutex mu_;
  std::condition_variable conn_finished_;   // a connection or its upstream direction is done
  std::list<std::unique_ptr<Conn>> conns_;  // GUARDED_BY(mu_)
  std::jthread acceptor_;
  std::atomic<bool> stopping_{false};  // Stop() began: trickles end
};

}  // namespace aura::simulator
