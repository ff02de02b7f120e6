// ratelimit_bench: pushes N requests from T threads through the shared Limiter, TokenSource and
// Client against aura-simulator with a short rate window, then prints the largest number of
// requests the simulator saw in any sliding window (must not exceed the limit), the utilization
// of the budget (goal >= 0.95) and the 429s received (goal 0).
//
//   build/bench/ratelimit_bench [--requests 2000] [--threads 8] [--limit 125]
//       [--window-ms 2000] [--margin-ms 25] [--api-url URL --token-url URL]
//
// Utilization compares the run with the fastest schedule the limit allows: N requests need
// ceil(N/L) windows when every window carries L of them, and the run spanned (last send - first
// send) + W. utilization = ceil(N/L) * W / (last - first + W); 1.0 means every window was full.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pkg/aura/client.h"
#include "pkg/aura/token_source.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/http/transport.h"
#include "pkg/metrics/metrics.h"
#include "pkg/ratelimit/limiter.h"
#ifdef AURA_BENCH_HAS_HARNESS
#include "tests/harness/http.h"
#include "tests/harness/simulator_process.h"
#endif

namespace {

using namespace aura;
using std::chrono::milliseconds;

// Measures how long each HTTP exchange takes (the spread of send-to-arrival delays is what the
// client's window margin must cover).
class TimingTransport final : public http::Transport {
 public:
  explicit TimingTransport(http::Transport* inner) : inner_(inner) {}
  base::StatusOr<http::HttpResponse> Send(const http::HttpRequest& r) override {
    const auto start = base::RealClock().Now();
    auto resp = inner_->Send(r);
    const double ms = base::ToSeconds(base::RealClock().Now() - start) * 1000;
    std::lock_guard<std::mutex> g(mu_);
    ms_.push_back(ms);
    return resp;
  }
  // The q-quantile of the exchange durations, in milliseconds.
  double Quantile(double q) {
    std::lock_guard<std::mutex> g(mu_);
    if (ms_.empty()) return 0;
    std::sort(ms_.begin(), ms_.end());
    return ms_[std::min(ms_.size() - 1, static_cast<size_t>(q * static_cast<double>(ms_.size())))];
  }

 private:
  http::Transport* inner_;
  std::mutex mu_;
  std::vector<double> ms_;
};

struct Flags {
  int requests = 2000;
  int threads = 8;
  int limit = 125;
  int window_ms = 2000;
  int margin_ms = 25;
  std::string api_url;
  std::string token_url;
  std::string client_id = "sim-client";
  std::string client_secret = "sim-secret";
  std::string tenant = "5f1c4d2e-8a3b-4c6d-9e0f-1a2b3c4d5e6f";
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--requests")
      f->requests = std::atoi(v.c_str());
    else if (k == "--threads")
      f->threads = std::atoi(v.c_str());
    else if (k == "--limit")
      f->limit = std::atoi(v.c_str());
    else if (k == "--window-ms")
      f->window_ms = std::atoi(v.c_str());
    else if (k == "--margin-ms")
      f->margin_ms = std::atoi(v.c_str());
    else if (k == "--api-url")
      f->api_url = v;
    else if (k == "--token-url")
      f->token_url = v;
    else
      return false;
  }
  return (argc % 2) == 1 && f->requests > 0 && f->threads > 0 && f->limit > 0 && f->window_ms > 0 &&
         f->margin_ms >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) {
    std::fprintf(stderr,
                 "usage: ratelimit_bench [--requests N] [--threads T] [--limit L] "
                 "[--window-ms W] [--margin-ms M] [--api-url URL --token-url URL]\n");
    return 2;
  }
  base::SetDefaultLogger(
      base::Logger(base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view line) {
        std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
      }));
#ifdef AURA_BENCH_HAS_HARNESS
  std::unique_ptr<test_harness::SimulatorProcess> sim;
  if (f.api_url.empty()) {
    auto started = test_harness::SimulatorProcess::Start({"--rate-limit", std::to_string(f.limit),
                                                          "--rate-window",
                                                          std::to_string(f.window_ms / 1000.0)});
    if (!started.ok()) {
      std::fprintf(stderr, "starting aura-simulator: %s\n", started.status().ToString().c_str());
      return 1;
    }
    sim = std::move(started).value();
    f.api_url = sim->api_url();
    f.token_url = sim->token_url();
  }
#endif
  if (f.api_url.empty()) {
    std::fprintf(stderr, "no simulator: pass --api-url and --token-url\n");
    return 2;
  }

  base::Clock& clock = base::RealClock();
  metrics::Metrics metrics;
  std::unique_ptr<http::Transport> cpprest = http::NewCpprestTransport();
  TimingTransport timing(cpprest.get());
  http::Transport* http = &timing;
  ratelimit::Options lo;
  lo.limit = f.limit;
  lo.window = milliseconds(f.window_ms);
  lo.window_margin = milliseconds(f.margin_ms);
  // Send times, from the limiter's grants (called under its lock).
  base::TimePoint first_grant = base::TimePoint::max(), last_grant = base::TimePoint::min();
  long long grants = 0;
  lo.observer.granted = [&](std::uint64_t, ratelimit::Priority, base::TimePoint t) {
    first_grant = std::min(first_grant, t);
    last_grant = std::max(last_grant, t);
    ++grants;
  };
  ratelimit::Limiter limiter(lo, &clock, &metrics);
  api::TokenSourceOptions to;
  to.token_url = f.token_url;
  to.client_id = f.client_id;
  to.client_secret = f.client_secret;
  api::TokenSource tokens(to, http, &limiter, &clock, &metrics);
  api::ClientOptions co;
  co.api_url = f.api_url;
  api::Client client(co, http, &tokens, &limiter, &clock, &metrics);

  std::atomic<int> next{0}, errors{0};
  auto worker = [&](int t) {
    for (int i = next++; i < f.requests; i = next++) {
      // A mix of priorities and routes, as the controller sends them.
      base::Status s;
      switch ((i + t) % 3) {
        case 0:
          s = client.ListInstances(f.tenant, ratelimit::Priority::kPoll).status();
          break;
        case 1:
          s = client.GetTenant(f.tenant, ratelimit::Priority::kDrift).status();
          break;
        default:
          s = client.ListTenants(ratelimit::Priority::kWrite).status();
          break;
      }
      if (!s.ok()) {
        ++errors;
        std::fprintf(stderr, "request %d: %s\n", i, s.ToString().c_str());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < f.threads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();

  long long max_in_window = -1, throttled = -1, sent_total = -1;
#ifdef AURA_BENCH_HAS_HARNESS
  if (sim) {
    auto stats = sim->Stats();
    if (stats.ok()) {
      max_in_window = (*stats)["max_requests_in_window"].get<long long>();
      throttled = (*stats)["throttled_total"].get<long long>();
      sent_total = (*stats)["requests_total"].get<long long>();
    }
  }
#endif
  const double window = f.window_ms / 1000.0;
  const double elapsed = base::ToSeconds(last_grant - first_grant);
  const long long n = grants;  // API calls, retries and token fetches
  const long long windows_needed = (n + f.limit - 1) / f.limit;
  const double utilization = windows_needed * window / (elapsed + window);
  std::printf(
      "requests sent      %lld (%d API calls, %lld token fetches, the rest retries) "
      "from %d threads\n",
      n, f.requests, static_cast<long long>(tokens.fetches()), f.threads);
  std::printf("limit              %d per %.3f s sliding window (client margin %d ms)\n", f.limit,
              window, f.margin_ms);
  std::printf("first to last send %.3f s (fastest possible %.3f s)\n", elapsed,
              (windows_needed - 1) * window);
  std::printf("max in any window  %lld (simulator; limit %d)\n", max_in_window, f.limit);
  std::printf("utilization        %.3f (achieved/limit)\n", utilization);
  std::printf("429s received      %.0f (simulator says %lld)\n", metrics.api_throttled.Value(),
              throttled);
  std::printf("exchange latency   p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", timing.Quantile(0.5),
              timing.Quantile(0.99), timing.Quantile(1.0));
  std::printf(
      "window margin      %d ms (each request counts from its grant until a window "
      "after its answer)\n",
      f.margin_ms);
  std::printf("errors             %d\n", errors.load());
  std::printf("simulator requests %lld\n", sent_total);
  return 0;
}
