// Controller: operations operator commands started (restore, overwrite; issue 22). The command
// records what it does (store/operations.h) before it sends anything; while the record is in
// force the controller writes nothing to that instance, so it never "corrects" the instance
// back while Aura restores or overwrites it. Reads and status go on as usual.
#include "pkg/reconcile/controller.h"
#include "pkg/store/codec.h"

namespace aura::reconcile {

void Controller::LoadOperations() {
  if (options_.operations == nullptr) return;
  auto records = options_.operations->List();
  std::map<std::string, store::OperationRecord> in_force;
  if (!records.ok()) {
    // Unknown: keep the previous pass's view rather than forget an operation under way.
    log_.Warn("operator operation records not read", base::StatusFields(records.status()));
    return;
  }
  const base::SystemTime now = clock_.SystemNow();
  for (store::OperationRecord& r : *records) {
    if (r.until > now) in_force[r.key] = std::move(r);
  }
  std::lock_guard<std::mutex> g(state_mu_);
  operations_ = std::move(in_force);
}

bool Controller::HoldForOperation(const std::string& key, KeyPlan* plan) {
  store::OperationRecord op;
  {
    std::lock_guard<std::mutex> g(state_mu_);
    auto it = operations_.find(key);
    if (it == operations_.end()) return false;
    op = it->second;
  }
  if (op.until <= clock_.SystemNow()) return false;
  if (!plan->status.aura_id.empty() && !op.instance_id.empty() &&
      op.instance_id != plan->status.aura_id) {
    return false;  // recorded for an instance this key no longer has
  }
  std::size_t held = 0;
  std::erase_if(plan->actions, [&held](const Action& a) {
    // Also no new instance and no "vanished" while Aura may be replacing the data.
    const bool hold = ActsOnExistingInstance(a.type) || a.type == ActionType::kCreate ||
                      a.type == ActionType::kRecordVanished;
    held += hold ? 1 : 0;
    return hold;
  });
  std::string what = "an operator's " + op.operation + " of instance " + op.instance_id;
  if (!op.detail.empty()) what += " (" + op.detail + ")";
  what += ", started " + store::detail::FormatTime(op.started) + ", is in progress";
  plan->status.message =
      what +
      (held > 0 ? ": no change is sent to the instance until it ends (at the latest " +
                      store::detail::FormatTime(op.until) + ")"
                : "") +
      (plan->status.message.empty() ? "" : "; " + plan->status.message);
  // Back soon, to act once the operation is over.
  const base::Duration soon = options_.poll_initial;
  plan->requeue_after = plan->requeue_after ? std::min(*plan->requeue_after, soon) : soon;
  if (held > 0) {
    log_.Info("changes held while an operator's operation is in progress",
              {{"key", key},
               {"operation", op.operation},
               {"instance_id", op.instance_id},
               {"held", held},
               {"until", store::detail::FormatTime(op.until)}});
  }
  return true;
}

}  // namespace aura::reconcile
