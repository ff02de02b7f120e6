#include "pkg/reconcile/spec_source.h"

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <set>

namespace aura::reconcile {
namespace fs = std::filesystem;

FileSpecSource::FileSpecSource(std::vector<std::string> paths, spec::LoadOptions options)
    : paths_(std::move(paths)), loader_(paths_, options) {}

spec::LoadDelta FileSpecSource::Load() {
  std::lock_guard<std::mutex> g(mu_);
  return loader_.Reload();
}

namespace {

void Describe(const fs::path& p, std::string* out) {
  struct stat st {};
  std::string line = p.string();
  if (::lstat(p.c_str(), &st) == 0) {
    line += ' ' + std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) +
            ' ' + std::to_string(st.st_size) + ' ' + std::to_string(st.st_ino);
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      line += " -> " + fs::read_symlink(p, ec).string();
    }
  } else {
    line += " missing";
  }
  *out += line + '\n';
}

void Walk(const fs::path& root, int depth, std::set<std::string>* seen, std::string* out) {
  Describe(root, out);
  std::error_code ec;
  if (depth > 16 || !fs::is_directory(root, ec)) return;  // follows symlinks
  const std::string canonical = fs::weakly_canonical(root, ec).string();
  if (!seen->insert(canonical).second) return;
  std::set<fs::path> children;
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    children.insert(it->path());
  }
  for (const auto& c : children) Walk(c, depth + 1, seen, out);
}

}  // namespace

std::string FileSpecSource::Fingerprint() {
  std::string out;
  std::set<std::string> seen;
  for (const auto& p : paths_) Walk(fs::path(p), 0, &seen, &out);
  return std::to_string(std::hash<std::string>{}(out)) + ":" + std::to_string(out.size());
}

}  // namespace aura::reconcile
