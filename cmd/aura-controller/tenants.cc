#include "cmd/aura-controller/tenants.h"

#include <iostream>

#include "cmd/aura-controller/common.h"

namespace aura::cmd {

int Tenants(const Config& c) {
  if (c.args.size() > 1) {
    return Fail(base::InvalidArgumentError("usage: aura-controller tenants [TENANT-ID]"));
  }
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  auto stack = BuildApi(c, &base::RealClock(), &m, log);
  if (!stack.ok()) return Fail(stack.status());
  api::Client& client = *(*stack)->client;
  std::vector<std::string> ids;
  if (c.args.size() == 1) {
    ids.push_back(c.args[0]);
  } else {
    auto list = client.ListTenants(ratelimit::Priority::kPoll);
    if (!list.ok()) return Fail(list.status().WithContext("GET /tenants"));
    for (const auto& t : list->data) ids.push_back(t.id);
  }
  std::vector<api::TenantDetail> details;
  for (const auto& id : ids) {
    auto d = client.GetTenant(id, ratelimit::Priority::kPoll);
    if (!d.ok()) return Fail(d.status().WithContext("GET /tenants/" + id));
    if (d->data.id.empty()) d->data.id = id;
    details.push_back(std::move(d->data));
  }
  if (c.output == "json") {
    std::cout << TenantsJson(details).dump(2) << "\n";
  } else {
    std::cout << TenantsTable(details);
  }
  return kExitOk;
}

}  // namespace aura::cmd
