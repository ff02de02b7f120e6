#include "tests/kube/k8s_validator.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/harness/subprocess.h"

namespace aura::kube_testing {

std::vector<BodyToValidate> BodiesOf(const std::vector<Exchange>& exchanges) {
  std::vector<BodyToValidate> out;
  int i = 0;
  for (const auto& e : exchanges) {
    ++i;
    const std::string where = "#" + std::to_string(i) + " " + e.method + " " + e.path;
    if (!e.request_kind.empty()) {
      out.push_back({e.request_kind, where + " request", e.request_body, 0});
    }
    if (!e.reply_kind.empty()) {
      out.push_back(
          {e.reply_kind, where + " reply " + std::to_string(e.status), e.reply_body, e.status});
    }
  }
  return out;
}

base::Status ValidateBodies(const std::vector<BodyToValidate>& bodies,
                            const std::string& scratch_dir, std::string* report) {
  const std::string script = AURA_K8S_VALIDATOR;
  const std::string modules =
      (std::filesystem::path(script).parent_path() / "node_modules" / "kubernetes-models").string();
  if (!std::filesystem::exists(modules)) {
    return base::FailedPreconditionError("kubernetes-models is not installed at " + modules +
                                         ": run scripts/install-deps.sh");
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& b : bodies) {
    list.push_back(
        {{"kind", b.kind}, {"where", b.where}, {"body", b.body}, {"http_status", b.http_status}});
  }
  static std::atomic<int> n{0};
  const std::string file = scratch_dir + "/k8s-bodies-" + std::to_string(::getpid()) + "-" +
                           std::to_string(++n) + ".json";
  std::ofstream(file, std::ios::trunc) << list.dump(1);
  test_harness::SubprocessOptions o;
  o.path = "/usr/bin/env";
  o.args = {"node", script, file};
  o.stdout_mode = test_harness::OutputMode::kPipe;
  o.stderr_mode = test_harness::OutputMode::kPipe;
  auto p = test_harness::Subprocess::Start(o);
  if (!p.ok()) return base::FailedPreconditionError("cannot start node: " + p.status().ToString());
  auto st = (*p)->Wait(std::chrono::seconds(60));
  const std::string out = (*p)->Output() + (*p)->ErrorOutput();
  if (report != nullptr) *report = out;
  if (!st.ok()) return base::DeadlineExceededError("the validator did not finish: " + out);
  if (st->code == 1) return base::InvalidArgumentError("kubernetes-models refused bodies:\n" + out);
  if (!st->ok()) {
    return base::FailedPreconditionError("the validator could not run (" + st->ToString() + "):\n" +
                                         out);
  }
  return base::Status();
}

base::Status ValidateExchanges(const FakeKubeApi& api, const std::string& scratch_dir,
                               std::string* report) {
  std::vector<BodyToValidate> bodies = BodiesOf(api.Exchanges());
  if (bodies.empty()) return base::FailedPreconditionError("no bodies to validate");
  return ValidateBodies(bodies, scratch_dir, report);
}

}  // namespace aura::kube_testing
