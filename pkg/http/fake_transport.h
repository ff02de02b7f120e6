// FakeTransport: a scripted Transport for unit tests (header-only; not linked into the client).
//
// Requests to a URL ending in /oauth/token are answered by the token handler (by default: a
// fresh "tok-N" bearer token living an hour), every other request by the API handler. Both
// handlers default to 500s; every request is recorded.
//
// Thread-safety: Send() may be called concurrently; handlers run outside the lock.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pkg/http/transport.h"

namespace aura::http {

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<base::StatusOr<HttpResponse>(const HttpRequest&)>;

  FakeTransport() {
    token_handler_ = [this](const HttpRequest&) -> base::StatusOr<HttpResponse> {
      int n = 0;
      {
        std::lock_guard<std::mutex> g(mu_);
        n = ++tokens_issued_;
      }
      return Response(200, R"({"access_token":"tok-)" + std::to_string(n) +
                               R"(","expires_in":3600,"token_type":"bearer"})");
    };
    api_handler_ = [](const HttpRequest&) -> base::StatusOr<HttpResponse> {
      return Response(500, R"({"error":"no handler"})");
    };
  }

  static HttpResponse Response(int status, std::string body, Headers headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  }

  void OnToken(Handler h) {
    std::lock_guard<std::mutex> g(mu_);
    token_handler_ = std::move(h);
  }
  void OnApi(Handler h) {
    std::lock_guard<std::mutex> g(mu_);
    api_handler_ = std::move(h);
  }

  base::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    Handler h;
    {
      std::lock_guard<std::mutex> g(mu_);
      requests_.push_back(request);
      const bool token = request.url.ends_with("/oauth/token");
      h = token ? token_handler_ : api_handler_;
    }
    return h(request);
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> g(mu_);
    return requests_;
  }
  // Requests other than token fetches.
  std::vector<HttpRequest> api_requests() const {
    std::vector<HttpRequest> out;
    for (auto& r : requests()) {
      if (!r.url.ends_with("/oauth/token")) out.push_back(r);
    }
    return out;
  }
  int token_requests() const {
    int n = 0;
    for (auto& r : requests()) n += r.url.ends_with("/oauth/token") ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  Handler token_handler_;
  Handler api_handler_;
  std::vector<HttpRequest> requests_;
  int tokens_issued_ = 0;
};

// The value of header `name` in `req` ("" when absent; case-sensitive names as the client sends).
inline std::string HeaderOf(const HttpRequest& req, const std::string& name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace aura::http
