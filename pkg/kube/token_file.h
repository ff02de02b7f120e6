// TokenFile: the bearer token the Kubernetes API is called with, read from a file (the service
// account token the kubelet projects into the pod, or --kube-token-file). Projected tokens are
// rotated by the kubelet (an atomic symlink swap, well before they expire), so the file is
// stat()ed before each use and read again when its identity, size or modification time changed;
// a caller that got a 401 asks for a forced re-read. Tokens are registered with
// base::RegisterSecret, so no log line shows them.
//
// Thread-safety: Get() may be called concurrently.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>

#include "pkg/base/status.h"

namespace aura::kube {

class TokenFile {
 public:
  explicit TokenFile(std::string path);

  const std::string& path() const { return path_; }
  // The token (surrounding whitespace trimmed). kUnauthenticated naming the file when it cannot
  // be read or is empty (nothing can authenticate without it).
  base::StatusOr<std::string> Get(bool force_reload = false);
  // How many times the file was read (tests; a metric of rotations would be noise).
  int reads() const;

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    long long mtime_ns = -1;
    bool operator==(const Identity&) const = default;
  };

  const std::string path_;
  mutable std::mutex mu_;
  Identity seen_;      // GUARDED_BY(mu_)
  std::string token_;  // GUARDED_BY(mu_)
  int reads_ = 0;      // GUARDED_BY(mu_)
};

}  // namespace aura::kube
