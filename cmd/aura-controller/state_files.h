// The files aura-controller keeps next to a file journal besides the journal itself, each a
// small 0600 JSON document bound to the account it was made for (store::AccountFingerprint of
// the token URL and client id; API URL too for the rate limit):
//   journal.token.json      the access token and its expiry (TokenCachePath): `plan` and `apply`
//                           processes reuse one token for its hour instead of fetching one each;
//   journal.ratelimit.json  the account's rate limit as learned from its first 429, or the
//                           larger tier once proven (ratelimit::Options::learn_limit): the next
//                           process starts with it instead of finding it again.
// A file made for another account, or unreadable, is ignored (and replaced when written).
//
// Thread-safety: FileTokenCache locks; the functions are called from main's thread or the
// limiter's callback.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cmd/aura-controller/config.h"
#include "pkg/aura/token_source.h"
#include "pkg/base/log.h"

namespace aura::cmd {

class FileTokenCache final : public api::TokenCache {
 public:
  FileTokenCache(std::string path, std::string account, base::Logger log)
      : path_(std::move(path)), account_(std::move(account)), log_(std::move(log)) {}
  std::optional<Entry> Load() override;
  void Save(const Entry& entry) override;
  void Clear() override;

 private:
  const std::string path_;
  const std::string account_;
  const base::Logger log_;
  std::mutex mu_;
};

// The fingerprint binding the token cache to (token URL, client id).
std::string TokenAccount(const Config& c);
// ... and the rate limit to (API URL, client id).
std::string RateLimitAccount(const Config& c);

struct LearnedLimit {
  int limit = 0;
  bool confirmed = false;  // the larger tier proven (no 429 involved)
};
// The limit kept for this account and --rate-window, if any (not with etcd state).
std::optional<LearnedLimit> LoadLearnedLimit(const Config& c, const base::Logger& log);
void SaveLearnedLimit(const Config& c, const LearnedLimit& l, const base::Logger& log);

// journal.window.json: when this account's last requests were sent (those still inside
// --rate-window), so that the next process of the same state folder (a `plan` right after an
// `apply`) counts them instead of meeting a 429 for them.
std::vector<base::SystemTime> LoadRecentRequests(const Config& c);
void SaveRecentRequests(const Config& c, const std::vector<base::SystemTime>& sent,
                        const base::Logger& log);

}  // namespace aura::cmd
