// Executor::Upgrade: POST /instances/{id}/upgrade (professional-db to business-critical), then
// the journal remembers the new type so that the type check (planner: ImmutableChange) sees the
// instance as it now is.
#include "pkg/reconcile/executor.h"

namespace aura::reconcile {

using base::Status;

ActionResult Executor::Upgrade(const Action& a) {
  ActionResult out;
  auto reply = api_.UpgradeInstance(a.instance_id, a.upgrade);
  const base::Logger log = Log(a).With({{"instance_id", a.instance_id}});
  if (!reply.ok()) return NotApplied(a, log, reply.status(), /*gone_on_404=*/true, "upgrade");
  out.request_id = reply->request_id;
  api::Instance seen = reply->data;
  if (seen.id.empty()) seen.id = a.instance_id;
  // The upgrade is under way: poll it like any operation in flight.
  if (seen.status.empty() || seen.status == "running") seen.status = "updating";
  out.observation = {a.instance_id, Observation(seen, reply->request_id)};
  log.Info("upgrade accepted", {{"reason", a.reason}, {"request_id", reply->request_id}});
  auto entry = journal_.Get(a.key);
  if (!entry.ok()) return out;
  entry->type = "business-critical";
  if (Status s = PutEntry(*entry); !s.ok()) {
    log.Warn("could not record the upgrade in the journal", base::StatusFields(s));
  } else {
    out.journal_changed = true;
  }
  return out;
}

}  // namespace aura::reconcile
