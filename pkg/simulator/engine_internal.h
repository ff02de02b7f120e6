// Helpers shared by the Engine's files (engine.cc: the pipeline; engine_auth.cc: the token
// endpoint and authentication; engine_admin.cc: /_sim/; engine_wire.cc: these and the bodies).
// Not part of the simulator's interface.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pkg/simulator/engine.h"

namespace aura::simulator::detail {

bool IEquals(std::string_view a, std::string_view b);
std::string FindHeader(const HeaderList& headers, std::string_view name);
uint64_t SplitMix(uint64_t x);
std::string Hex64(uint64_t v);
std::string Base64UrlEncode(std::string_view in);
// Standard base64 (padding optional); false on a character outside the alphabet.
bool Base64Decode(std::string_view in, std::string* out);
// Parses "Basic base64(id:secret)".
bool ParseBasic(std::string_view header, std::string* id, std::string* secret);
std::string BearerToken(std::string_view header);
std::map<std::string, std::string> ParseForm(std::string_view body);
// Makes every scalar the wrong JSON type: strings become numbers, numbers and bools strings.
void Scramble(nlohmann::json& v);
// Removes what a client cannot do without (see engine_wire.cc).
void DropRequiredFields(nlohmann::json& body);
SimResponse JsonResponse(int status, std::string body);

}  // namespace aura::simulator::detail
