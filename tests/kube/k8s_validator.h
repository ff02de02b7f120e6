// Validation of Kubernetes API bodies by a third-party validator: tools/validate-k8s.mjs runs the
// kubernetes-models package (installed by scripts/install-deps.sh into tools/node_modules) over
// every request and reply body a FakeKubeApi saw. A body that fails validation fails the test.
//
// Thread-safety: functions are reentrant (each run writes its own file in `scratch_dir`).
#pragma once

#include <string>
#include <vector>

#include "pkg/base/status.h"
#include "tests/kube/fake_kube_api.h"

namespace aura::kube_testing {

struct BodyToValidate {
  std::string kind;  // Secret, Status, DeleteOptions, SecretList, APIVersions, ...
  std::string where;
  std::string body;
  int http_status = 0;  // of the reply it came in (0 for requests)
};

// Every body of `exchanges` that has a kind.
std::vector<BodyToValidate> BodiesOf(const std::vector<Exchange>& exchanges);

// Runs the validator. OK with a summary in `*report` when every body is valid;
// kInvalidArgument listing each problem otherwise; kFailedPrecondition when the validator
// cannot run (node or tools/node_modules missing: run scripts/install-deps.sh).
base::Status ValidateBodies(const std::vector<BodyToValidate>& bodies,
                            const std::string& scratch_dir, std::string* report = nullptr);

// ValidateBodies(BodiesOf(api.Exchanges())); also refuses an empty list (nothing was checked).
base::Status ValidateExchanges(const FakeKubeApi& api, const std::string& scratch_dir,
                               std::string* report = nullptr);

}  // namespace aura::kube_testing
