// Standard base64 (RFC 4648, with padding): HTTP Basic auth, etcd's JSON gateway, sealed
// credentials and key files.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aura::base {

std::string Base64Encode(std::string_view bytes);
// std::nullopt when `text` is not canonical padded base64 (whitespace is not skipped).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace aura::base
