// Sealing: authenticated encryption of credentials stored outside this host (etcd), with
// AES-256-GCM through OpenSSL EVP.
//
// Key: 32 random bytes from a file the user provides (`--credentials-key-file`, e.g. a mounted
// Kubernetes Secret), raw or base64 (`head -c 32 /dev/urandom | base64`). Its id is the first 16
// hex digits of SHA-256("aura-controller credentials key" || key): stored with every value so a
// value sealed with another key is reported as such (and several keys can be given while
// rotating: the first seals, any may open).
//
// Envelope (JSON): {"format": "aura-controller sealed credentials", "version": 1,
//   "alg": "AES-256-GCM", "key_id": "<16 hex>", "nonce": "<base64, 12 bytes>",
//   "ciphertext": "<base64>", "tag": "<base64, 16 bytes>"}
// A fresh random nonce (RAND_bytes) per value. The associated data binds the value to where it
// is stored (the etcd key), so a sealed value copied to another key does not open.
//
// Thread-safety: pure functions (OpenSSL's RNG is thread-safe).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkg/base/status.h"

namespace aura::store {

struct SealingKey {
  std::string id;     // 16 hex digits
  std::string bytes;  // 32 bytes; never logged; wiped when the key goes away
  ~SealingKey();
};

// From the content of a key file: 32 bytes as base64 or hex (surrounding whitespace ignored).
// kInvalidArgument saying what a key file must hold (never quoting it). Not any 32-character
// text: a passphrase typed into the file is refused.
[[nodiscard]] base::StatusOr<SealingKey> ParseSealingKey(std::string_view content);
// Reads and parses a key file; kInvalidArgument / kNotFound naming the path. A file readable by
// others, or by a group this process is not in, is refused (it opens every saved password);
// group-readable by our own group is how Kubernetes mounts Secrets for non-root containers.
[[nodiscard]] base::StatusOr<SealingKey> LoadSealingKeyFile(const std::string& path);

// The envelope of `plaintext` sealed with `key`, bound to `aad`.
[[nodiscard]] base::StatusOr<std::string> Seal(const SealingKey& key, std::string_view plaintext,
                                               std::string_view aad);
// Opens an envelope with whichever of `keys` has its key id. kDataLoss when it is not an
// envelope, was sealed with none of `keys` (naming the key ids), or fails authentication
// (tampered, or moved from another key: the tag does not match).
[[nodiscard]] base::StatusOr<std::string> Unseal(const std::vector<SealingKey>& keys,
                                                 std::string_view envelope, std::string_view aad);

}  // namespace aura::store
