// SpecSource: where the desired state comes from. FileSpecSource reads folders and files of
// YAML and notices changes (including the `..data` symlink swap Kubernetes uses to update a
// mounted ConfigMap) by a cheap fingerprint of names, sizes, times and link targets.
//
// Thread-safety: Load() and Fingerprint() may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "pkg/spec/spec.h"

namespace aura::reconcile {

class SpecSource {
 public:
  virtual ~SpecSource() = default;
  virtual spec::LoadResult Load() = 0;
  // Changes whenever Load() could return something different.
  virtual std::string Fingerprint() = 0;
};

class FileSpecSource final : public SpecSource {
 public:
  explicit FileSpecSource(std::vector<std::string> paths, spec::LoadOptions options = {});
  spec::LoadResult Load() override;
  std::string Fingerprint() override;

 private:
  std::vector<std::string> paths_;
  spec::LoadOptions options_;
};

}  // namespace aura::reconcile
