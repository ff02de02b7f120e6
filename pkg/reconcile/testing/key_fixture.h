// The controller with one AuraCustomerManagedKey spec ("vault-key") and an instance encrypted
// with it ("vault"), on the fakes: shared by the key resolution and key lifecycle tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile::testing {

inline spec::CustomerManagedKeySpec VaultKeySpec(
    spec::DeletionPolicy policy = spec::DeletionPolicy::kRetain) {
  spec::CustomerManagedKeySpec k;
  k.name = "vault-key";
  k.aura_name = "Vault Key";
  k.tenant_id = "tenant-1";
  k.cloud_provider = "gcp";
  k.region = "europe-west1";
  k.instance_type = "enterprise-db";
  k.key_id = "projects/p/keys/k";
  k.deletion_policy = policy;
  return k;
}

inline spec::InstanceSpec VaultInstanceSpec(
    spec::DeletionPolicy policy = spec::DeletionPolicy::kRetain) {
  spec::InstanceSpec s = MakeSpec("vault");
  s.type = "enterprise-db";
  s.customer_managed_key_ref = "default/vault-key";
  s.deletion_policy = policy;
  return s;
}

class KeyControllerTest : public ::testing::Test {
 protected:
  KeyControllerTest() : api_(&clock_) {
    options_.poll_initial = std::chrono::seconds(5);
    options_.resync = std::chrono::seconds(60);
    options_.check_configurations = false;  // the fake tenant offers professional-db only
    log_ = base::Logger(
        base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view) {}, &clock_);
  }
  void Start() {
    controller_ = std::make_unique<Controller>(options_, api_, journal_, creds_, specs_, clock_,
                                               metrics_, log_);
  }
  // One pass and the work it queues, without settling the fake account.
  void Pass() {
    (void)controller_->StartPass();
    for (int i = 0; i < 3; ++i) {
      controller_->ProcessReady();
      clock_.Advance(std::chrono::seconds(5));
    }
  }
  SpecStatus Status(const std::string& key = "default/vault") {
    for (const auto& s : controller_->Statuses()) {
      if (s.key == key) return s;
    }
    return {};
  }

  base::FakeClock clock_;
  FakeAuraApi api_;
  MemJournal journal_;
  MemCredentialStore creds_;
  StaticSpecSource specs_;
  metrics::Metrics metrics_;
  ControllerOptions options_;
  base::Logger log_;
  std::unique_ptr<Controller> controller_;
};

}  // namespace aura::reconcile::testing
