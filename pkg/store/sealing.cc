#include "pkg/store/sealing.h"

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pkg/base/base64.h"

namespace aura::store {
namespace {

using base::Status;
using base::StatusOr;
using nlohmann::json;

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr char kFormat[] = "aura-controller sealed credentials";
constexpr int kVersion = 1;
constexpr char kAlg[] = "AES-256-GCM";

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::string KeyId(std::string_view key) {
  const std::string input = std::string("aura-controller credentials key") + std::string(key);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

SealingKey::~SealingKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

StatusOr<SealingKey> ParseSealingKey(std::string_view content) {
  std::string trimmed = Trim(content);
  const std::string_view text = trimmed;
  std::string bytes;
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
  };
  if (text.size() == 2 * kKeyBytes &&
      std::all_of(text.begin(), text.end(), [&](char c) { return hex(c) >= 0; })) {
    for (size_t i = 0; i < text.size(); i += 2) {
      bytes.push_back(static_cast<char>(hex(text[i]) * 16 + hex(text[i + 1])));
    }
  } else if (std::optional<std::string> d = base::Base64Decode(text); d && d->size() == kKeyBytes) {
    bytes = std::move(*d);
    OPENSSL_cleanse(d->data(), d->size());
  } else {
    return base::InvalidArgumentError(
        "a credentials key file must hold exactly 32 random bytes written as base64 (44 "
        "characters) or hex (64 digits); create one with: head -c 32 /dev/urandom | base64 > "
        "key && chmod 600 key (this one holds " +
        std::to_string(text.size()) + " characters that are neither)");
  }
  SealingKey k{KeyId(bytes), bytes};
  OPENSSL_cleanse(bytes.data(), bytes.size());
  OPENSSL_cleanse(trimmed.data(), trimmed.size());
  return k;
}

StatusOr<SealingKey> LoadSealingKeyFile(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return base::NotFoundError("cannot read the credentials key file " + path);
  }
  // Group-readable is allowed only for a group this process is in (Kubernetes mounts Secret
  // files root:<fsGroup> 0440 for a non-root container); others, never.
  bool group_is_ours = st.st_gid == ::getegid();
  if (!group_is_ours) {
    gid_t groups[256];
    const int n = ::getgroups(256, groups);
    for (int i = 0; i < n; ++i) group_is_ours = group_is_ours || groups[i] == st.st_gid;
  }
  if ((st.st_mode & 007) != 0 || ((st.st_mode & 070) != 0 && !group_is_ours)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return base::InvalidArgumentError(
        "the credentials key file " + path + " is readable by others (mode " + mode +
        ", or a group this process is not in): it opens every saved password; chmod 600 " +
        path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::NotFoundError("cannot read the credentials key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  StatusOr<SealingKey> k = ParseSealingKey(content);
  OPENSSL_cleanse(content.data(), content.size());
  if (!k.ok()) return k.status().WithContext(path);
  return k;
}

StatusOr<std::string> Seal(const SealingKey& key, std::string_view plaintext,
                           std::string_view aad) {
  if (key.bytes.size() != kKeyBytes)
    return base::InvalidArgumentError("sealing key is not 32 bytes");
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(U(nonce), static_cast<int>(nonce.size())) != 1) {
    return base::InternalError("OpenSSL RAND_bytes failed");
  }
  Ctx ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + kTagBytes, '\0');
  std::string tag(kTagBytes, '\0');
  int len = 0;
  int total = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(key.bytes), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), U(out), &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return base::InternalError("AES-256-GCM encryption failed in OpenSSL");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), U(out) + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, U(tag)) != 1) {
    return base::InternalError("AES-256-GCM encryption failed in OpenSSL");
  }
  total += len;
  out.resize(static_cast<size_t>(total));
  json env{{"format", kFormat},
           {"version", kVersion},
           {"alg", kAlg},
           {"key_id", key.id},
           {"nonce", base::Base64Encode(nonce)},
           {"ciphertext", base::Base64Encode(out)},
           {"tag", base::Base64Encode(tag)}};
  return env.dump();
}

StatusOr<std::string> Unseal(const std::vector<SealingKey>& keys, std::string_view envelope,
                             std::string_view aad) {
  const json env = json::parse(envelope, nullptr, false);
  auto str = [&](const char* name) -> std::string {
    auto it = env.find(name);
    return it != env.end() && it->is_string() ? it->get<std::string>() : "";
  };
  if (!env.is_object() || str("format") != kFormat) {
    return base::DataLossError("not a sealed credentials value");
  }
  if (!env.contains("version") || env["version"] != kVersion || str("alg") != kAlg) {
    return base::DataLossError("sealed with an unsupported version or algorithm");
  }
  const std::string key_id = str("key_id");
  const SealingKey* key = nullptr;
  std::string known;
  for (const SealingKey& k : keys) {
    if (k.id == key_id) key = &k;
    known += (known.empty() ? "" : ", ") + k.id;
  }
  if (key == nullptr) {
    return base::DataLossError(
        "sealed with key id " + key_id + ", but the credentials key file(s) given have key id(s) " +
        (known.empty() ? "none" : known) + ": give the key it was sealed with");
  }
  std::optional<std::string> nonce = base::Base64Decode(str("nonce"));
  std::optional<std::string> ct = base::Base64Decode(str("ciphertext"));
  std::optional<std::string> tag = base::Base64Decode(str("tag"));
  if (!nonce || nonce->size() != kNonceBytes || !ct || !tag || tag->size() != kTagBytes) {
    return base::DataLossError("sealed value is damaged (nonce, ciphertext or tag)");
  }
  Ctx ctx(EVP_CIPHER_CTX_new());
  std::string out(ct->size() + kTagBytes, '\0');
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(key->bytes), U(*nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), U(out), &len, U(*ct), static_cast<int>(ct->size())) != 1) {
    return base::InternalError("AES-256-GCM decryption failed in OpenSSL");
  }
  int total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, U(*tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), U(out) + total, &len) != 1) {
    return base::DataLossError(
        "sealed value failed authentication: it was modified, or copied from another entry");
  }
  total += len;
  out.resize(static_cast<size_t>(total));
  return out;
}

}  // namespace aura::store
