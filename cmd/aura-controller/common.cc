#include "cmd/aura-controller/common.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cmd/aura-controller/state_files.h"
#include "pkg/etcd/etcd_client.h"
#include "pkg/http/url.h"
#include "pkg/store/state_file.h"

namespace aura::cmd {

int Fail(const base::Status& s) {
  std::cerr << "aura-controller: " << base::Redact(s.ToString()) << "\n";
  return kExitError;
}

base::Logger MakeLogger(const Config& c) {
  auto level = base::ParseLogLevel(c.log_level);
  // plan and apply in CI: their table or progress on stdout, only warnings and errors on
  // stderr unless a level is asked for.
  if (!c.log_level_set && (c.command == Command::kPlan || c.command == Command::kApply) &&
      !::isatty(STDERR_FILENO)) {
    level = base::LogLevel::kWarn;
  }
  base::LogFormat format = base::LogFormat::kJson;
  if (c.log_format == "human" || (c.log_format == "auto" && ::isatty(STDERR_FILENO))) {
    format = base::LogFormat::kHuman;
  }
  return base::Logger(level.ok() ? *level : base::LogLevel::kInfo, format,
                      [](std::string_view line) {
                        std::fwrite(line.data(), 1, line.size(), stderr);
                        std::fputc('\n', stderr);
                        std::fflush(stderr);
                      });
}

void WarnPlainHttpEndpoints(const Config& c, const base::Logger& log) {
  std::vector<std::pair<std::string, std::string>> endpoints = {{"--api-url", c.api_url},
                                                                {"--token-url", c.token_url}};
  if (IsEtcdState(c)) {
    if (auto target = etcd::ParseEtcdUrl(c.state); target.ok()) {
      for (const std::string& e : target->endpoints) endpoints.emplace_back("--state", e);
    }
  }
  for (const auto& [flag, url] : endpoints) {
    auto u = http::ParseUrl(url);
    if (!u.ok() || u->https()) continue;
    log.Warn(
        "plain http endpoint: requests and credentials travel unencrypted",
        {{"flag", flag}, {"endpoint", u->Origin()}, {"loopback", http::IsLoopbackHost(u->host)}});
  }
}

base::StatusOr<std::unique_ptr<ApiStack>> BuildApi(const Config& c, base::Clock* clock,
                                                   metrics::Metrics* m, const base::Logger& log,
                                                   bool with_client) {
  if (c.client_id.empty() || c.client_secret.empty()) {
    return base::InvalidArgumentError(
        "Aura credentials missing: set AURA_CLIENT_ID and AURA_CLIENT_SECRET, or "
        "--credentials-file FILE");
  }
  base::RegisterSecret(c.client_secret);
  AURA_RETURN_IF_ERROR(
      http::CheckUrlAllowed(c.api_url, c.insecure_http_aura, "--insecure-http-aura")
          .WithContext("--api-url"));
  AURA_RETURN_IF_ERROR(
      http::CheckUrlAllowed(c.token_url, c.insecure_http_aura, "--insecure-http-aura")
          .WithContext("--token-url"));
  WarnPlainHttpEndpoints(c, log);
  auto stack = std::make_unique<ApiStack>();
  http::TransportOptions topts;
  topts.allow_plain_http = c.insecure_http_aura;
  stack->transport = http::NewCpprestTransport(topts);
  ratelimit::Options lopts;
  lopts.limit = c.rate_limit;
  lopts.window = c.rate_window;
  lopts.safety_margin = c.rate_margin;
  if (!c.rate_limit_explicit) {
    // The account's tier: 125 a minute when billed, 25 for Free and unbilled trials. Kept from
    // an earlier process, or learned from the first 429 (ratelimit/limiter.h).
    if (std::optional<LearnedLimit> known = LoadLearnedLimit(c, log)) {
      lopts.limit = known->limit;
      lopts.safety_margin = std::min(lopts.safety_margin, std::max(0, known->limit - 1));
      log.Info("rate limit from an earlier run",
               {{"rate_limit", known->limit}, {"confirmed", known->confirmed}});
    } else {
      lopts.learn_limit = true;
      lopts.probe_above = std::min(kLowestTierLimit, lopts.limit - 1);
      const Config copy = c;
      metrics::Metrics* metrics = m;
      lopts.on_learned = [copy, log, metrics](int limit, bool confirmed) {
        SaveLearnedLimit(copy, LearnedLimit{limit, confirmed}, log);
        if (metrics != nullptr) metrics->rate_limit_requests.Set(limit);
        if (confirmed) {
          log.Info(
              "the account allows more than the lowest tier: requests no longer go one at "
              "a time past it",
              {{"rate_limit", limit}});
        } else {
          log.Warn(
              "learned the account's rate limit from its first 429 (Free and unbilled trial "
              "accounts get 25 a minute); kept for the next runs; --rate-limit overrides",
              {{"rate_limit", limit},
               {"window_s",
                std::chrono::duration_cast<std::chrono::seconds>(copy.rate_window).count()}});
        }
      };
    }
  }
  if (m != nullptr) m->rate_limit_requests.Set(lopts.limit);
  stack->limiter = std::make_unique<ratelimit::Limiter>(lopts, clock, m);
  // Requests an earlier process of this state folder sent within the window still count.
  {
    const base::TimePoint now = clock->Now();
    const base::SystemTime wall = clock->SystemNow();
    std::vector<base::TimePoint> earlier;
    for (base::SystemTime t : LoadRecentRequests(c)) {
      // May be a little ahead of now (see on_exit below): the limiter counts those as of now.
      earlier.push_back(now + std::chrono::duration_cast<base::Duration>(t - wall));
    }
    stack->limiter->Preload(earlier);
    ratelimit::Limiter* limiter = stack->limiter.get();
    stack->on_exit = [c, clock, limiter, log] {
      const base::TimePoint at_exit = clock->Now();
      const base::SystemTime wall_at_exit = clock->SystemNow();
      // Each time is when a request's window started as the limiter counts it: its answer, the
      // latest moment Aura can have counted it (or now, for one still in flight).
      std::vector<base::SystemTime> sent;
      for (base::TimePoint t : limiter->RecentGrants()) {
        sent.push_back(wall_at_exit -
                       std::chrono::duration_cast<base::SystemTime::duration>(at_exit - t));
      }
      SaveRecentRequests(c, sent, log);
    };
  }
  api::TokenSourceOptions tok;
  tok.token_url = c.token_url;
  tok.client_id = c.client_id;
  tok.client_secret = c.client_secret;
  tok.request_timeout = c.request_timeout;
  tok.failure_cooldown = c.token_cooldown;
  tok.failure_cooldown_max = 60 * c.token_cooldown;
  if (const std::string path = TokenCachePath(c); !path.empty()) {
    stack->token_cache = std::make_unique<FileTokenCache>(path, TokenAccount(c), log);
    tok.cache = stack->token_cache.get();
  }
  stack->tokens = std::make_unique<api::TokenSource>(tok, stack->transport.get(),
                                                     stack->limiter.get(), clock, m, log);
  if (with_client) stack->client = NewClient(c, *stack, clock, m, log);
  return stack;
}

std::unique_ptr<api::Client> NewClient(const Config& c, ApiStack& stack, base::Clock* clock,
                                       metrics::Metrics* m, const base::Logger& log,
                                       std::function<base::Status()> write_guard) {
  api::ClientOptions copts;
  copts.api_url = c.api_url;
  copts.request_timeout = c.request_timeout;
  copts.write_guard = std::move(write_guard);
  return std::make_unique<api::Client>(copts, stack.transport.get(), stack.tokens.get(),
                                       stack.limiter.get(), clock, m, log);
}

base::Status CheckStateBinding(const Config& c, store::Journal& journal, bool writable,
                               const base::Logger& log) {
  std::string api = c.api_url;
  while (!api.empty() && api.back() == '/') api.pop_back();
  const store::StateBinding want{api, store::AccountFingerprint({c.client_id})};
  AURA_ASSIGN_OR_RETURN(store::StateBinding have, journal.GetBinding());
  if (have == want) return base::Status();
  if (have.empty() || c.rebind_state) {
    if (!writable) return base::Status();  // read-only commands never bind
    AURA_RETURN_IF_ERROR(journal.SetBinding(want).WithContext("binding the state to the account"));
    if (have.empty()) {
      log.Info("state bound to this account", {{"api_url", api}});
    } else {
      log.Warn("state moved to another account (--rebind-state)",
               {{"api_url", api}, {"was_api_url", have.api_url}});
    }
    return base::Status();
  }
  std::string differs;
  if (have.api_url != want.api_url) differs = "API URL " + have.api_url;
  if (have.client != want.client) {
    differs += std::string(differs.empty() ? "" : " and ") + "another client id";
  }
  return base::FailedPreconditionError(
      "the state at " + c.state + " belongs to another account (" + differs + "; this run uses " +
      api +
      "): used here it would create new instances and file their passwords over the old "
      "ones. Point --state at this account's own state, or pass --rebind-state to move it on "
      "purpose");
}

reconcile::ControllerOptions ControllerOptionsFrom(const Config& c, const ApiStack* stack) {
  reconcile::ControllerOptions o;
  o.plan.settle_window = c.settle_window;
  o.plan.allow_delete = c.allow_delete;
  o.plan.max_deletes = c.max_deletes;
  o.resync = c.resync;
  o.spec_poll = c.spec_poll;
  o.workers = c.workers;
  o.poll_initial = c.poll_interval;
  o.poll_max = std::max(c.poll_max, c.poll_interval);
  o.failure_max = std::max<base::Duration>(std::chrono::seconds(1), c.resync * 5);
  o.drift_share = c.drift_share;
  o.rate_limit = c.rate_limit - c.rate_margin;
  if (stack != nullptr && stack->limiter) {
    const ratelimit::Limiter* limiter = stack->limiter.get();
    const int margin = c.rate_margin;
    o.current_rate_limit = [limiter, margin] { return std::max(1, limiter->Limit() - margin); };
  }
  o.rate_window = c.rate_window;
  o.seed = static_cast<std::uint64_t>(::getpid()) ^
           static_cast<std::uint64_t>(base::RealClock().Now().time_since_epoch().count());
  return o;
}

SignalWaiter::SignalWaiter() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

void SignalWaiter::Start(std::function<void(int)> on_signal) {
  thread_ = std::jthread([this, on_signal](std::stop_token stop) {
    int count = 0;
    while (!stop.stop_requested()) {
      timespec ts{0, 200 * 1000 * 1000};
      int sig = sigtimedwait(&set_, nullptr, &ts);
      if (sig <= 0) continue;
      if (++count > 1) std::_Exit(130);
      on_signal(sig);
    }
  });
}

void SignalWaiter::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace aura::cmd
