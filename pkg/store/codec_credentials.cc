// Credentials records (codec.h): one per file or etcd key.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pkg/store/codec.h"
#include "pkg/store/codec_internal.h"

namespace aura::store::detail {

using base::Status;
using base::StatusOr;
using internal::IsString;
using internal::ObjectReader;
using nlohmann::json;

StatusOr<std::string> EncodeCredentials(const std::string& key, const Credentials& c,
                                        base::SystemTime saved_at) {
  try {
    json doc{{"format", std::string(kCredentialsFormat)},
             {"version", kCredentialsVersion},
             {"key", key},
             {"instance_id", c.instance_id},
             {"connection_url", c.connection_url},
             {"username", c.username},
             {"password", c.password},
             {"saved_at", FormatTime(saved_at)}};
    return doc.dump(2) + "\n";
  } catch (const json::exception&) {
    // The exception text may quote the password.
    return base::InvalidArgumentError("credentials for " + key + " are not valid UTF-8");
  }
}

StatusOr<DecodedCredentials> DecodeCredentials(std::string_view bytes) {
  json doc;
  try {
    doc = json::parse(bytes);
  } catch (const json::parse_error& e) {
    // e.what() quotes the bytes around the error, which may be the password.
    return base::DataLossError("not valid JSON (truncated or damaged) at byte " +
                               std::to_string(e.byte));
  } catch (const json::exception&) {
    return base::DataLossError("not valid JSON");
  }
  if (!doc.is_object()) return base::DataLossError("expected a JSON object");
  if (!IsString(doc, "format", kCredentialsFormat)) {
    return base::DataLossError("format: expected \"" + std::string(kCredentialsFormat) + "\"");
  }
  DecodedCredentials out;
  int version = 0;
  ObjectReader r(doc, "credentials");
  for (const char* name :
       {"version", "key", "instance_id", "connection_url", "username", "password", "saved_at"}) {
    r.Require(name);
  }
  r.Get("version", &version);
  r.Get("key", &out.key);
  r.Get("instance_id", &out.credentials.instance_id);
  r.Get("connection_url", &out.credentials.connection_url);
  r.Get("username", &out.credentials.username);
  r.Get("password", &out.credentials.password);
  r.Get("saved_at", &out.saved_at);
  AURA_RETURN_IF_ERROR(r.status());
  if (version != kCredentialsVersion) {
    return base::DataLossError("version " + std::to_string(version) +
                               " is not supported by this aura-controller");
  }
  return out;
}

}  // namespace aura::store::detail
