// SpecSource: where the desired state comes from. FileSpecSource reads folders and files of
// YAML and notices changes (including the `..data` symlink swap Kubernetes uses to update a
// mounted ConfigMap) by a cheap fingerprint of names, sizes, times and link targets; a load
// parses only the files that changed (spec::SpecLoader) and returns what changed.
//
// Thread-safety: Load() and Fingerprint() may be called from any thread.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "pkg/spec/spec.h"

namespace aura::reconcile {

class SpecSource {
 public:
  virtual ~SpecSource() = default;
  // What changed since the last call; everything (full) on the first, or always for a source
  // without a cache.
  virtual spec::LoadDelta Load() = 0;
  // Changes whenever Load() could return something different.
  virtual std::string Fingerprint() = 0;
};

class FileSpecSource final : public SpecSource {
 public:
  explicit FileSpecSource(std::vector<std::string> paths, spec::LoadOptions options = {});
  spec::LoadDelta Load() override;
  std::string Fingerprint() override;

 private:
  std::vector<std::string> paths_;
  std::mutex mu_;
  spec::SpecLoader loader_;  // GUARDED_BY(mu_)
};

}  // namespace aura::reconcile
