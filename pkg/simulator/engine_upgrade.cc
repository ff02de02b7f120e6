// POST /v1/instances/{instanceId}/upgrade: an AuraDB Professional instance becomes Business
// Critical, optionally resized (memory and storage together). The instance is `updating` for
// --update-seconds, then running with the new type (and size). Both profiles: 200 with the
// instance as the active profile writes it (the OpenAPI's only success status).
#include "pkg/simulator/catalog.h"
#include "pkg/simulator/engine.h"
#include "pkg/simulator/engine_resources.h"

namespace aura::simulator {

using namespace resources;  // NOLINT: the resource handlers' helpers

SimResponse Engine::UpgradeInstance(const SimRequest& req, const std::string& id,
                                    const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  r->last_write = clock_->SystemNow();
  dirty_ = true;
  bool ok = false;
  json body = ParseBody(req.body, &ok);
  if (!ok) return NotAnObject();
  FieldErrors errs;
  for (const auto& [k, v] : body.items()) {
    if (k != "memory" && k != "storage") {
      errs.Add(k, "Unknown field: " + k);
    } else if (!v.is_string()) {
      errs.Add(k, k + " must be a string");
    }
  }
  if (!errs.empty()) return errs.Response();
  if (body.contains("memory") != body.contains("storage")) {
    errs.Add(body.contains("memory") ? "storage" : "memory",
             "memory and storage must be provided together");
  }
  const std::string memory = body.value("memory", r->memory);
  const std::string storage = body.value("storage", r->storage);
  if (body.contains("memory") && !IsMemorySize(memory)) errs.Add("memory", "Invalid memory");
  if (body.contains("storage") && SizeGb(storage) < 0) errs.Add("storage", "Invalid storage");
  if (errs.empty() && SizeGb(storage) < SizeGb(memory)) {
    errs.Add("storage", "storage must be at least the memory");
  }
  if (r->type != "professional-db") {
    errs.Add("type", "Only AuraDB Professional (professional-db) instances can be upgraded; this "
                     "instance is " + r->type);
  }
  if (!errs.empty()) return errs.Response();
  if (auto refused = PinnedRefusal(*r)) return *refused;
  if (r->status != "running") return Busy(*r);
  json update = {{"type", "business-critical"}};
  if (body.contains("memory")) {
    update["memory"] = memory;
    update["storage"] = storage;
  }
  r->pending_update = update;
  Become(*r, "updating", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.update);
  return Data(200, InstanceJson(*r));
}

}  // namespace aura::simulator
