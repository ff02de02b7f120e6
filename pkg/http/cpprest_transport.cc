// The only client code that includes cpprestsdk (STYLE.md); server.cc is the only server code.
#include <cpprest/http_client.h>
#include <cpprest/rawptrstream.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/mman.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <system_error>

#include "pkg/http/transport.h"
#include "pkg/http/url.h"

namespace aura::http {
namespace {

using web::http::client::http_client;
using web::http::client::http_client_config;

base::Status ClassifyError(const std::error_code& ec, const std::string& what, bool maybe_sent,
                           const std::string& host) {
  const std::string msg = what.empty() ? ec.message() : what;
  if (ec == std::errc::timed_out || msg.find("timed out") != std::string::npos) {
    return base::DeadlineExceededError("no response before the timeout: " + msg)
        .SetReason("timeout");
  }
  if (msg.find("resolve") != std::string::npos || msg.find("Host not found") != std::string::npos) {
    return base::UnavailableError("could not connect: cannot resolve " + host + " (" + msg + ")")
        .SetReason("connect");
  }
  if (!maybe_sent || ec == std::errc::connection_refused || ec == std::errc::host_unreachable ||
      ec == std::errc::network_unreachable || msg.find("handshake") != std::string::npos) {
    return base::UnavailableError("could not connect: " + msg).SetReason("connect");
  }
  return base::UnavailableError("connection failed after sending: " + msg).SetReason("io");
}

// Anonymous memory for one response body, committed by the kernel only where it is written:
// the reservation is max_response_bytes, the resident size what arrived.
class BodyArena {
 public:
  explicit BodyArena(std::size_t size) : size_(size) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~BodyArena() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  BodyArena(const BodyArena&) = delete;
  BodyArena& operator=(const BodyArena&) = delete;
  uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_;
  uint8_t* data_;
};

base::Status TooLarge(std::size_t limit, const std::string& what) {
  return base::UnavailableError("response body " + what + " exceeds the limit of " +
                                std::to_string(limit) + " bytes; nothing of it was used")
      .SetReason("too_large");
}

class CpprestTransport final : public Transport {
 public:
  explicit CpprestTransport(TransportOptions options) : options_(std::move(options)) {}

  base::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    AURA_RETURN_IF_ERROR(CheckUrlAllowed(req.url, options_.allow_plain_http));
    AURA_ASSIGN_OR_RETURN(Url url, ParseUrl(req.url));
    bool sent = false;
    // Set once the status line and headers arrived: a body that fails later (too slow, cut
    // short, too big) is still that response's failure, and the error carries its request id.
    std::string request_id;
    int status = 0;
    auto failed = [&](base::Status s) {
      if (!request_id.empty()) s.SetRequestId(request_id);
      if (status != 0) s.SetHttpStatus(status);
      return s;
    };
    // +1: a body of exactly the limit fits; one byte more faults the write.
    BodyArena arena(options_.max_response_bytes + 1);
    if (arena.data() == nullptr) {
      return base::UnavailableError("cannot reserve memory for a response body")
          .SetReason("connect");
    }
    pplx::cancellation_token_source cancel;
    try {
      std::shared_ptr<http_client> client = ClientFor(url.Origin(), req);
      web::http::http_request msg(utility::conversions::to_string_t(req.method));
      msg.set_request_uri(utility::conversions::to_string_t(url.target));
      std::string content_type;
      for (const auto& [k, v] : req.headers) {
        if (EqualsIgnoreCase(k, "Content-Type")) {
          content_type = v;  // set with the body below
          continue;
        }
        msg.headers().add(utility::conversions::to_string_t(k),
                          utility::conversions::to_string_t(v));
      }
      if (!req.body.empty() || !content_type.empty()) {
        msg.set_body(req.body, content_type.empty() ? "application/octet-stream" : content_type);
      }
      concurrency::streams::rawptr_buffer<uint8_t> sink(arena.data(), arena.size(), std::ios::out);
      msg.set_response_stream(concurrency::streams::ostream(sink));
      sent = true;
      web::http::http_response resp = client->request(msg, cancel.get_token()).get();
      HttpResponse out;
      out.status = status = resp.status_code();
      for (const auto& [k, v] : resp.headers()) {
        out.headers.emplace_back(utility::conversions::to_utf8string(k),
                                 utility::conversions::to_utf8string(v));
      }
      request_id = RequestIdOf(out);
      if (resp.headers().has(U("Content-Length")) &&
          resp.headers().content_length() > options_.max_response_bytes) {
        cancel.cancel();  // closes the connection: the body is not read
        // The arena must outlive every write into it: wait until the body task has ended.
        try {
          resp.content_ready().wait();
        } catch (const std::exception&) {
          // Cancelled, as asked.
        }
        return failed(TooLarge(
            options_.max_response_bytes,
            "of " + std::to_string(resp.headers().content_length()) + " bytes (Content-Length)"));
      }
      try {
        resp.content_ready().get();
      } catch (const std::exception& e) {
        if (static_cast<std::size_t>(sink.getpos(std::ios::out)) >= options_.max_response_bytes) {
          return failed(TooLarge(options_.max_response_bytes, "without Content-Length"));
        }
        throw;
      }
      const std::size_t n = static_cast<std::size_t>(sink.getpos(std::ios::out));
      if (n > options_.max_response_bytes) {
        return failed(TooLarge(options_.max_response_bytes, "without Content-Length"));
      }
      out.body.assign(reinterpret_cast<const char*>(arena.data()), n);
      if (status >= 300 && status < 400) return failed(RedirectRefused(out));
      return out;
    } catch (const web::http::http_exception& e) {
      return failed(ClassifyError(e.error_code(), e.what(), sent, url.host));
    } catch (const std::system_error& e) {
      return failed(ClassifyError(e.code(), e.what(), sent, url.host));
    } catch (const std::exception& e) {
      return failed(ClassifyError(std::error_code(), e.what(), sent, url.host));
    }
  }

 private:
  static base::Status RedirectRefused(const HttpResponse& r) {
    const std::string location = r.Header("Location");
    const std::string host = location.empty() ? "" : HostOf(location);
    return base::FailedPreconditionError(
               "HTTP " + std::to_string(r.status) + " redirect" +
               (host.empty() ? std::string(location.empty() ? " without a Location"
                                                            : " to a relative location")
                             : " to host '" + host + "'") +
               " refused: redirects are never followed (credentials would go along); check the "
               "URL")
        .SetReason("redirect");
  }

  // GET and DELETE share one pooled client (kept-alive connections) per origin and timeout.
  // Everything else gets a client, hence a connection, of its own: when a reused connection
  // fails while the status line is read, cpprestsdk silently sends the request again on a new
  // one, which for a POST could create a second instance.
  std::shared_ptr<http_client> ClientFor(const std::string& origin, const HttpRequest& req) {
    auto make = [&] {
      return std::make_shared<http_client>(utility::conversions::to_string_t(origin),
                                           Config(req.timeout));
    };
    if (req.method != "GET" && req.method != "DELETE") return make();
    std::lock_guard<std::mutex> g(mu_);
    auto& slot = pooled_[{origin, req.timeout.count()}];
    if (!slot) slot = make();
    return slot;
  }

  http_client_config Config(std::chrono::milliseconds timeout) const {
    http_client_config config;
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    config.set_validate_certificates(true);
    config.set_max_redirects(0);
    if (!options_.ca_file.empty() || !options_.cert_file.empty() || !options_.key_file.empty()) {
      const TransportOptions o = options_;
      // Throws (boost::system::system_error) on an unreadable file: the handshake then fails.
      config.set_ssl_context_callback([o](boost::asio::ssl::context& ctx) {
        if (!o.ca_file.empty()) {
          // cpprestsdk loaded the system CAs already: start from an empty store instead.
          SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
          ctx.load_verify_file(o.ca_file);
        }
        if (!o.cert_file.empty()) ctx.use_certificate_chain_file(o.cert_file);
        if (!o.key_file.empty())
          ctx.use_private_key_file(o.key_file, boost::asio::ssl::context::pem);
      });
    }
    return config;
  }

  const TransportOptions options_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::chrono::milliseconds::rep>, std::shared_ptr<http_client>>
      pooled_;  // GUARDED_BY(mu_)
};

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

std::string RequestIdOf(const HttpResponse& response) {
  std::string id = response.Header("X-Request-Id");
  return id.empty() ? response.Header("Audit-Id") : id;
}

std::unique_ptr<Transport> NewCpprestTransport(TransportOptions options) {
  return std::make_unique<CpprestTransport>(std::move(options));
}

}  // namespace aura::http
