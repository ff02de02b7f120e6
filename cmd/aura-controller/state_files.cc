#include "cmd/aura-controller/state_files.h"

#include "pkg/store/codec.h"
#include "pkg/store/state_file.h"

namespace aura::cmd {
namespace {

using nlohmann::json;

std::string RateLimitPath(const Config& c) {
  return IsEtcdState(c) ? "" : SidecarPath(c.state, "ratelimit");
}

}  // namespace

std::string TokenAccount(const Config& c) {
  return store::AccountFingerprint({c.token_url, c.client_id});
}

std::string RateLimitAccount(const Config& c) {
  return store::AccountFingerprint({c.api_url, c.client_id});
}

std::optional<api::TokenCache::Entry> FileTokenCache::Load() {
  std::lock_guard<std::mutex> g(mu_);
  auto doc = store::ReadJsonFile(path_);
  if (!doc.ok()) {
    log_.Warn("token cache unreadable; fetching a new token",
              {{"path", path_}, {"error", doc.status().ToString()}});
    return std::nullopt;
  }
  if (!doc->has_value()) return std::nullopt;
  const json& j = **doc;
  if (j.value("account", "") != account_) return std::nullopt;  // another account's token
  auto at = store::detail::ParseTime(j.value("expires_at", ""));
  const std::string token = j.value("access_token", "");
  if (!at.ok() || token.empty()) return std::nullopt;
  base::RegisterSecret(token);
  return Entry{token, *at};
}

void FileTokenCache::Save(const Entry& e) {
  std::lock_guard<std::mutex> g(mu_);
  json j = {{"format", "aura-controller token cache"},
            {"account", account_},
            {"access_token", e.access_token},
            {"expires_at", store::detail::FormatTime(e.expires_at)}};
  if (base::Status s = store::WriteJsonFile(path_, j); !s.ok()) {
    log_.Warn("could not cache the access token (the next process fetches its own)",
              {{"path", path_}, {"error", s.ToString()}});
  }
}

void FileTokenCache::Clear() {
  std::lock_guard<std::mutex> g(mu_);
  (void)store::FileSystem::Default().RemoveFile(path_);
}

std::optional<LearnedLimit> LoadLearnedLimit(const Config& c, const base::Logger& log) {
  const std::string path = RateLimitPath(c);
  if (path.empty()) return std::nullopt;
  auto doc = store::ReadJsonFile(path);
  if (!doc.ok()) {
    log.Warn("rate limit file unreadable; ignored",
             {{"path", path}, {"error", doc.status().ToString()}});
    return std::nullopt;
  }
  if (!doc->has_value()) return std::nullopt;
  const json& j = **doc;
  const auto window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.rate_window);
  if (j.value("account", "") != RateLimitAccount(c) ||
      j.value("window_ms", int64_t{0}) != window_ms.count()) {
    return std::nullopt;
  }
  const int limit = j.value("rate_limit", 0);
  if (limit < 1) return std::nullopt;
  return LearnedLimit{limit, j.value("source", "") == "confirmed"};
}

void SaveLearnedLimit(const Config& c, const LearnedLimit& l, const base::Logger& log) {
  const std::string path = RateLimitPath(c);
  if (path.empty()) return;
  json j = {
      {"format", "aura-controller rate limit"},
      {"account", RateLimitAccount(c)},
      {"rate_limit", l.limit},
      {"window_ms", std::chrono::duration_cast<std::chrono::milliseconds>(c.rate_window).count()},
      {"source", l.confirmed ? "confirmed" : "learned"},
      {"at", store::detail::FormatTime(base::RealClock().SystemNow())}};
  if (base::Status s = store::WriteJsonFile(path, j); !s.ok()) {
    log.Warn("could not keep the learned rate limit", {{"path", path}, {"error", s.ToString()}});
  }
}

std::vector<base::SystemTime> LoadRecentRequests(const Config& c) {
  std::vector<base::SystemTime> out;
  if (IsEtcdState(c)) return out;
  auto doc = store::ReadJsonFile(SidecarPath(c.state, "window"));
  if (!doc.ok() || !doc->has_value()) return out;
  const json& j = **doc;
  if (j.value("account", "") != RateLimitAccount(c)) return out;
  for (const json& t : j.value("sent", json::array())) {
    if (!t.is_string()) continue;
    if (auto at = store::detail::ParseTime(t.get<std::string>()); at.ok()) out.push_back(*at);
  }
  return out;
}

void SaveRecentRequests(const Config& c, const std::vector<base::SystemTime>& sent,
                        const base::Logger& log) {
  if (IsEtcdState(c)) return;
  json times = json::array();
  for (base::SystemTime t : sent) times.push_back(store::detail::FormatTime(t));
  json j = {{"format", "aura-controller recent requests"},
            {"account", RateLimitAccount(c)},
            {"sent", std::move(times)}};
  if (base::Status s = store::WriteJsonFile(SidecarPath(c.state, "window"), j); !s.ok()) {
    log.Warn("could not keep the recent requests for the next run", {{"error", s.ToString()}});
  }
}

}  // namespace aura::cmd
