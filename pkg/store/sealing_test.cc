// AES-256-GCM sealing: round trip, wrong key, tampering of every part, the binding to where the
// value is stored, nonce uniqueness, key files.
#include "pkg/store/sealing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>

#include "pkg/base/base64.h"
#include "pkg/store/test_util.h"

namespace aura::store {
namespace {

using base::StatusCode;
using nlohmann::json;

SealingKey Key(char fill) { return *ParseSealingKey(base::Base64Encode(std::string(32, fill))); }

TEST(SealingTest, RoundTrip) {
  const SealingKey k = Key('k');
  const std::string secret = "{\"password\":\"one-time-XYZ\"}";
  auto env = Seal(k, secret, "/aura/credentials/shop/orders");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->find("one-time-XYZ"), std::string::npos);  // not in clear
  json j = json::parse(*env);
  EXPECT_EQ(j["format"], "aura-controller sealed credentials");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["alg"], "AES-256-GCM");
  EXPECT_EQ(j["key_id"], k.id);
  EXPECT_EQ(base::Base64Decode(j["nonce"].get<std::string>())->size(), 12u);
  EXPECT_EQ(base::Base64Decode(j["tag"].get<std::string>())->size(), 16u);
  auto back = Unseal({k}, *env, "/aura/credentials/shop/orders");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, secret);
  // Empty plaintext too.
  EXPECT_EQ(*Unseal({k}, *Seal(k, "", "a"), "a"), "");
}

TEST(SealingTest, WrongKeyIsRefusedNamingTheKeyIds) {
  const SealingKey right = Key('r');
  const SealingKey wrong = Key('w');
  ASSERT_NE(right.id, wrong.id);
  auto env = Seal(right, "secret", "aad");
  auto r = Unseal({wrong}, *env, "aad");
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find(right.id), std::string::npos);
  EXPECT_NE(r.status().message().find(wrong.id), std::string::npos);
  // While rotating, any of the given keys opens what it sealed.
  EXPECT_EQ(*Unseal({wrong, right}, *env, "aad"), "secret");
  // A different key that claims the right id still fails authentication.
  SealingKey forged = wrong;
  forged.id = right.id;
  EXPECT_EQ(Unseal({forged}, *env, "aad").status().code(), StatusCode::kDataLoss);
}

TEST(SealingTest, TamperingIsDetected) {
  const SealingKey k = Key('k');
  const std::string env = *Seal(k, "the password", "aad");
  for (const char* part : {"ciphertext", "tag", "nonce"}) {
    json j = json::parse(env);
    std::string raw = *base::Base64Decode(j[part].get<std::string>());
    raw[0] = static_cast<char>(raw[0] ^ 0x01);
    j[part] = base::Base64Encode(raw);
    auto r = Unseal({k}, j.dump(), "aad");
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << part;
    EXPECT_NE(r.status().message().find("authentication"), std::string::npos) << part;
  }
  // Moved to another place (other associated data).
  EXPECT_EQ(Unseal({k}, env, "other").status().code(), StatusCode::kDataLoss);
  // Truncated or not an envelope at all.
  for (const std::string& bad :
       {env.substr(0, env.size() / 2), std::string("{}"), std::string("plain text")}) {
    EXPECT_EQ(Unseal({k}, bad, "aad").status().code(), StatusCode::kDataLoss);
  }
  json short_tag = json::parse(env);
  short_tag["tag"] = base::Base64Encode("short");
  EXPECT_EQ(Unseal({k}, short_tag.dump(), "aad").status().code(), StatusCode::kDataLoss);
}

TEST(SealingTest, EveryValueGetsAFreshNonce) {
  const SealingKey k = Key('k');
  std::set<std::string> nonces, ciphertexts;
  for (int i = 0; i < 1000; ++i) {
    json j = json::parse(*Seal(k, "same plaintext", "same aad"));
    nonces.insert(j["nonce"].get<std::string>());
    ciphertexts.insert(j["ciphertext"].get<std::string>());
  }
  EXPECT_EQ(nonces.size(), 1000u);
  EXPECT_EQ(ciphertexts.size(), 1000u);
}

TEST(SealingTest, KeyFilesBase64OrHexOnly) {
  const std::string raw(32, '\x07');
  auto a = ParseSealingKey(base::Base64Encode(raw) + "\n");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = ParseSealingKey(std::string(32, '0').replace(1, 1, "7").replace(3, 1, "7") +
                           "  ");  // not 64 digits: refused below
  auto h = ParseSealingKey(
      "0707070707070707070707070707070707070707070707070707070707070707\n");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(a->bytes, raw);
  EXPECT_EQ(h->bytes, raw);
  EXPECT_EQ(a->id, h->id);
  EXPECT_EQ(a->id.size(), 16u);
  // Raw bytes or any 32-character text (a passphrase) are refused, as are wrong sizes.
  for (const std::string& bad :
       {raw, std::string(32, 'x'), std::string("correct horse battery staple!!!!"),
        std::string(31, 'x'), std::string(""), base::Base64Encode(std::string(16, 'x')),
        std::string(63, 'a'), std::string(64, 'g')}) {
    auto r = ParseSealingKey(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("32 random bytes"), std::string::npos);
  }
  EXPECT_FALSE(b.ok());
  testutil::ScratchDir dir;
  testutil::WriteRaw(dir / "key", base::Base64Encode(raw));
  ::chmod((dir / "key").c_str(), 0600);
  auto f = LoadSealingKeyFile(dir / "key");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->bytes, raw);
  // Readable by others: refused, naming the mode and the fix.
  ::chmod((dir / "key").c_str(), 0644);
  auto open = LoadSealingKeyFile(dir / "key");
  EXPECT_EQ(open.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(open.status().message().find("0644"), std::string::npos) << open.status();
  EXPECT_NE(open.status().message().find("readable by others"), std::string::npos);
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);
  ::chmod((dir / "key").c_str(), 0604);
  EXPECT_FALSE(LoadSealingKeyFile(dir / "key").ok());
  // Group-readable by this process's own group (Kubernetes' Secret volumes): accepted.
  ::chmod((dir / "key").c_str(), 0640);
  EXPECT_TRUE(LoadSealingKeyFile(dir / "key").ok());
  EXPECT_EQ(LoadSealingKeyFile(dir / "missing").status().code(), StatusCode::kNotFound);
  testutil::WriteRaw(dir / "bad", "hello");
  ::chmod((dir / "bad").c_str(), 0600);
  auto bad = LoadSealingKeyFile(dir / "bad");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(dir / "bad"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("hello"), std::string::npos);  // never quoted
}

}  // namespace
}  // namespace aura::store
