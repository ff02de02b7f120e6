#include "pkg/kube/token_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "pkg/base/log.h"

namespace aura::kube {

TokenFile::TokenFile(std::string path) : path_(std::move(path)) {}

int TokenFile::reads() const {
  std::lock_guard<std::mutex> g(mu_);
  return reads_;
}

base::StatusOr<std::string> TokenFile::Get(bool force_reload) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return base::UnauthenticatedError("Kubernetes token file " + path_ +
                                      " cannot be read: " + std::strerror(errno));
  }
  Identity now;
  now.dev = st.st_dev;
  now.ino = st.st_ino;
  now.size = st.st_size;
  now.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  std::lock_guard<std::mutex> g(mu_);
  if (!force_reload && now == seen_ && !token_.empty()) return token_;
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    return base::UnauthenticatedError("Kubernetes token file " + path_ + " cannot be opened");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  const char* ws = " \t\r\n";
  token.erase(0, token.find_first_not_of(ws) == std::string::npos ? token.size()
                                                                  : token.find_first_not_of(ws));
  token.erase(token.find_last_not_of(ws) + 1);
  ++reads_;
  if (token.empty()) {
    return base::UnauthenticatedError("Kubernetes token file " + path_ + " is empty");
  }
  base::RegisterSecret(token);
  token_ = std::move(token);
  seen_ = now;
  return token_;
}

}  // namespace aura::kube
