#include "tests/kube/kubectl.h"

#include <filesystem>
#include <fstream>

#include "pkg/base/base64.h"
#include "tests/harness/subprocess.h"

namespace aura::kube_testing {

KubectlResult Kubectl(const KubectlTarget& target, const std::string& scratch_dir,
                      std::vector<std::string> args) {
  const std::string dir = scratch_dir + "/kubectl";
  std::filesystem::create_directories(dir + "/home");
  const std::string config = dir + "/kubeconfig";
  std::ofstream(config, std::ios::trunc)
      << "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: "
      << target.server_url << "\n"
      << (target.ca_file.empty() ? "" : "    certificate-authority: " + target.ca_file + "\n")
      << "users:\n- name: controller\n  user:\n    token: " << target.token
      << "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: controller\n"
      << "current-context: fake\n";
  test_harness::SubprocessOptions o;
  o.path = AURA_KUBECTL;
  o.args = {"--kubeconfig", config, "--cache-dir", dir + "/cache", "--request-timeout", "10s"};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.env = {{"HOME", dir + "/home"}, {"KUBECONFIG", config}};
  o.stdout_mode = test_harness::OutputMode::kPipe;
  o.stderr_mode = test_harness::OutputMode::kPipe;
  KubectlResult r;
  auto p = test_harness::Subprocess::Start(o);
  if (!p.ok()) {
    r.err = p.status().ToString();
    return r;
  }
  auto st = (*p)->Wait(std::chrono::seconds(30));
  const test_harness::ExitStatus exit = st.ok() ? *st : (*p)->Stop(std::chrono::seconds(2));
  r.exit_code = exit.exited ? exit.code : -1;
  r.out = (*p)->Output();
  r.err = (*p)->ErrorOutput();
  return r;
}

base::StatusOr<nlohmann::json> KubectlGetSecret(const KubectlTarget& target,
                                                const std::string& scratch_dir,
                                                const std::string& ns, const std::string& name) {
  KubectlResult r = Kubectl(target, scratch_dir, {"get", "secret", name, "-n", ns, "-o", "json"});
  if (r.exit_code != 0) {
    if (r.err.find("NotFound") != std::string::npos) {
      return base::NotFoundError("kubectl: " + r.err);
    }
    return base::UnavailableError("kubectl exited " + std::to_string(r.exit_code) + ": " + r.err);
  }
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object()) return base::DataLossError("kubectl printed no JSON object: " + r.out);
  return j;
}

std::map<std::string, std::string> DecodedData(const nlohmann::json& secret) {
  std::map<std::string, std::string> out;
  if (!secret.contains("data") || !secret["data"].is_object()) return out;
  for (const auto& [k, v] : secret["data"].items()) {
    out[k] = base::Base64Decode(v.get<std::string>()).value_or("<not base64>");
  }
  return out;
}

}  // namespace aura::kube_testing
