// The token endpoint (OAuth client credentials, signed tokens) and the authentication of /v1
// requests.
#include <algorithm>

#include "pkg/simulator/engine.h"
#include "pkg/simulator/engine_internal.h"

namespace aura::simulator {

using namespace detail;  // NOLINT: the engine's own helpers
using nlohmann::json;

bool Engine::Authenticate(const SimRequest& req, const Client** client, SimResponse* error) {
  const std::string token = BearerToken(req.Header("Authorization"));
  if (token.empty()) {
    *error = JsonResponse(401, GatewayErrorBody("Authorization field missing"));
    return false;
  }
  auto it = state_.tokens.find(token);
  if (it == state_.tokens.end()) {
    *error = JsonResponse(401, GatewayErrorBody("Key not authorised"));
    return false;
  }
  if (clock_->SystemNow() >= it->second.expires_at) {
    *error = JsonResponse(403, GatewayErrorBody("Access token expired"));
    return false;
  }
  for (const auto& c : clients_) {
    if (c.id == it->second.client_id) {
      *client = &c;
      return true;
    }
  }
  *error = JsonResponse(401, GatewayErrorBody("Key not authorised"));
  return false;
}

SimResponse Engine::HandleToken(const SimRequest& req) {
  auto oauth_error = [](int status, std::string_view error, std::string_view description) {
    return JsonResponse(status, json{{"error", error}, {"error_description", description}}.dump());
  };
  std::string id, secret;
  if (!ParseBasic(req.Header("Authorization"), &id, &secret)) {
    return oauth_error(401, "invalid_client", "HTTP Basic authentication is required");
  }
  const Client* client = nullptr;
  for (const auto& c : clients_) {
    if (c.id == id && c.secret == secret) client = &c;
  }
  if (client == nullptr) return oauth_error(401, "invalid_client", "Bad client credentials");
  if (req.body.empty()) return oauth_error(404, "invalid_request", "Missing request body");
  const std::string content_type = req.Header("Content-Type");
  if (!IEquals(std::string_view(content_type).substr(0, content_type.find(';')),
               "application/x-www-form-urlencoded")) {
    return oauth_error(400, "invalid_request",
                       "Content-Type must be application/x-www-form-urlencoded");
  }
  auto form = ParseForm(req.body);
  if (form["grant_type"] != "client_credentials") {
    return oauth_error(403, "unsupported_grant_type", "grant_type must be client_credentials");
  }
  const base::SystemTime now = clock_->SystemNow();
  const int64_t ttl = std::chrono::duration_cast<std::chrono::seconds>(options_.token_ttl).count();
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  json payload = {
      {"sub", client->id},
      {"iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()},
      {"jti", NewUuid()}};
  payload["exp"] = payload["iat"].get<int64_t>() + ttl;
  std::string token =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump()) + "." +
      RandomString(43, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
  base::SystemTime expires =
      now + std::chrono::duration_cast<base::SystemTime::duration>(options_.token_ttl);
  if (const auto& early = faults_.config().token_expiry_seconds) {
    ++stats_.faults["token_early_expiry"];
    expires = std::min(expires, now + std::chrono::duration_cast<base::SystemTime::duration>(
                                          std::chrono::duration<double>(*early)));
  }
  // Forget tokens that expired more than a day ago, so the map stays bounded.
  std::erase_if(state_.tokens, [&](const auto& kv) {
    return kv.second.expires_at + std::chrono::hours(24) < now;
  });
  state_.tokens[token] = {client->id, expires};
  ++stats_.tokens_issued;
  dirty_ = true;
  return JsonResponse(
      200, json{{"access_token", token}, {"expires_in", ttl}, {"token_type", "bearer"}}.dump());
}

}  // namespace aura::simulator
