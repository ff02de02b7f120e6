// The only file of pkg/aura that includes cpprestsdk (STYLE.md).
#include <cpprest/http_client.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <system_error>

#include "pkg/aura/transport.h"

namespace aura::api {
namespace {

using web::http::client::http_client;
using web::http::client::http_client_config;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Splits "scheme://authority/path?q" into ("scheme://authority", "/path?q").
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  size_t scheme_end = url.find("://");
  size_t path_start =
      scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  if (path_start == std::string::npos) return {url, "/"};
  return {url.substr(0, path_start), url.substr(path_start)};
}

base::Status ClassifyError(const std::error_code& ec, const std::string& what, bool maybe_sent) {
  const std::string msg = what.empty() ? ec.message() : what;
  if (ec == std::errc::timed_out || msg.find("timed out") != std::string::npos) {
    return base::DeadlineExceededError("no response before the timeout: " + msg)
        .SetReason("timeout");
  }
  if (!maybe_sent || ec == std::errc::connection_refused || ec == std::errc::host_unreachable ||
      ec == std::errc::network_unreachable || msg.find("resolve") != std::string::npos ||
      msg.find("handshake") != std::string::npos) {
    return base::UnavailableError("could not connect: " + msg).SetReason("connect");
  }
  return base::UnavailableError("connection failed after sending: " + msg).SetReason("io");
}

class CpprestTransport final : public Transport {
 public:
  explicit CpprestTransport(CpprestTransportOptions options) : options_(options) {}

  base::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    base::Status allowed = CheckUrlAllowed(req.url, options_.allow_insecure_http);
    if (!allowed.ok()) return allowed;
    auto [base_url, path] = SplitUrl(req.url);
    bool sent = false;
    // Set once the status line and headers arrived: a body that fails later (too slow, cut
    // short) is still that response's failure, and the error carries its X-Request-Id.
    std::string request_id;
    auto failed = [&](base::Status s) {
      if (!request_id.empty()) s.SetRequestId(request_id);
      return s;
    };
    try {
      std::shared_ptr<http_client> client = ClientFor(base_url, req);
      web::http::http_request msg(utility::conversions::to_string_t(req.method));
      msg.set_request_uri(utility::conversions::to_string_t(path));
      for (const auto& [k, v] : req.headers) {
        if (IEquals(k, "Content-Type")) continue;  // set with the body below
        msg.headers().add(utility::conversions::to_string_t(k),
                          utility::conversions::to_string_t(v));
      }
      std::string content_type;
      for (const auto& [k, v] : req.headers) {
        if (IEquals(k, "Content-Type")) content_type = v;
      }
      if (!req.body.empty() || !content_type.empty()) {
        msg.set_body(req.body, content_type.empty() ? "application/octet-stream" : content_type);
      }
      sent = true;
      web::http::http_response resp = client->request(msg).get();
      HttpResponse out;
      out.status = resp.status_code();
      for (const auto& [k, v] : resp.headers()) {
        out.headers.emplace_back(utility::conversions::to_utf8string(k),
                                 utility::conversions::to_utf8string(v));
      }
      request_id = out.Header("X-Request-Id");
      std::vector<unsigned char> body = resp.extract_vector().get();
      if (body.size() > options_.max_response_bytes) {
        return base::UnavailableError("response body of " + std::to_string(body.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(options_.max_response_bytes))
            .SetHttpStatus(out.status)
            .SetRequestId(out.Header("X-Request-Id"))
            .SetReason("io");
      }
      out.body.assign(body.begin(), body.end());
      return out;
    } catch (const web::http::http_exception& e) {
      return failed(ClassifyError(e.error_code(), e.what(), sent));
    } catch (const std::system_error& e) {
      return failed(ClassifyError(e.code(), e.what(), sent));
    } catch (const std::exception& e) {
      return failed(ClassifyError(std::error_code(), e.what(), sent));
    }
  }

 private:
  // GET and DELETE share one pooled client (kept-alive connections) per base URL and timeout.
  // Everything else gets a client, hence a connection, of its own: when a reused connection
  // fails while the status line is read, cpprestsdk silently sends the request again on a new
  // one, which for a POST could create a second instance.
  std::shared_ptr<http_client> ClientFor(const std::string& base_url, const HttpRequest& req) {
    auto make = [&] {
      return std::make_shared<http_client>(utility::conversions::to_string_t(base_url),
                                           Config(req.timeout));
    };
    if (req.method != "GET" && req.method != "DELETE") return make();
    std::lock_guard<std::mutex> g(mu_);
    auto& slot = pooled_[{base_url, req.timeout.count()}];
    if (!slot) slot = make();
    return slot;
  }

  http_client_config Config(std::chrono::milliseconds timeout) const {
    http_client_config config;
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    config.set_validate_certificates(true);
    if (!options_.ca_file.empty() || !options_.cert_file.empty() || !options_.key_file.empty()) {
      const CpprestTransportOptions o = options_;
      // Throws (boost::system::system_error) on an unreadable file: the handshake then fails.
      config.set_ssl_context_callback([o](boost::asio::ssl::context& ctx) {
        if (!o.ca_file.empty()) ctx.load_verify_file(o.ca_file);
        if (!o.cert_file.empty()) ctx.use_certificate_chain_file(o.cert_file);
        if (!o.key_file.empty())
          ctx.use_private_key_file(o.key_file, boost::asio::ssl::context::pem);
      });
    }
    return config;
  }

  CpprestTransportOptions options_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::chrono::milliseconds::rep>, std::shared_ptr<http_client>>
      pooled_;  // GUARDED_BY(mu_)
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  return host.starts_with("127.");
}

base::Status CheckUrlAllowed(std::string_view url, bool allow_insecure_http) {
  if (url.starts_with("https://")) return base::Status();
  if (!url.starts_with("http://")) {
    return base::InvalidArgumentError("URL '" + std::string(url) +
                                      "' must start with https:// (or http:// on loopback)");
  }
  std::string_view rest = url.substr(7);
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view host = authority;
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (IsLoopbackHost(host) || allow_insecure_http) return base::Status();
  return base::InvalidArgumentError(
      "refusing plain http:// to non-loopback host '" + std::string(host) +
      "': use https://, or pass --insecure-http if you really mean it");
}

std::unique_ptr<Transport> NewCpprestTransport(CpprestTransportOptions options) {
  return std::make_unique<CpprestTransport>(options);
}

}  // namespace aura::api
