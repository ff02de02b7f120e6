// POST /v1/instances/{instanceId}/overwrite: the instance's data replaced by a source
// instance's (a new snapshot of it, or the source_snapshot_id given): `overwriting` for
// --restore-seconds, then running. 404 for an unknown target, source or snapshot, 420 for a
// free target, 500 "DB Overwrite Size Disparity" for a target smaller than the source, 409 while
// busy. Both profiles: 202 with the instance.
//
// POST /v1/instances/{instanceId}/upgrade: an AuraDB Professional instance becomes Business
// Critical, optionally resized (memory and storage together). The instance is `updating` for
// --update-seconds, then running with the new type (and size). Both profiles: 200 with the
// instance as the active profile writes it (the OpenAPI's only success status).
#include "pkg/simulator/catalog.h"
#include "pkg/simulator/engine.h"
#include "pkg/simulator/engine_resources.h"

namespace aura::simulator {

using namespace resources;  // NOLINT: the resource handlers' helpers

SimResponse Engine::UpgradeInstance(const SimRequest& req, const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  r->last_write = clock_->SystemNow();
  dirty_ = true;
  bool ok = false;
  json body = ParseBody(req.body, &ok);
  if (!ok) return NotAnObject();
  FieldErrors errs = OnlyStringFields(body, {"memory", "storage"});
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
    errs.Add("type",
             "Only AuraDB Professional (professional-db) instances can be upgraded; this "
             "instance is " +
                 r->type);
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

SimResponse Engine::OverwriteInstance(const SimRequest& req, const std::string& id,
                                      const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  r->last_write = clock_->SystemNow();
  dirty_ = true;
  bool ok = false;
  json body = ParseBody(req.body, &ok);
  if (!ok) return NotAnObject();
  FieldErrors errs = OnlyStringFields(body, {"source_instance_id", "source_snapshot_id"});
  if (!body.contains("source_instance_id")) {
    errs.Add("source_instance_id", "Missing required field: source_instance_id");
  }
  if (!errs.empty()) return errs.Response();
  const std::string source_id = body["source_instance_id"].get<std::string>();
  const std::string snapshot_id = body.value("source_snapshot_id", "");
  const InstanceRecord* source = FindLive(source_id, c);
  if (source == nullptr || source_id == id) return DbNotFound(source_id);
  if (!snapshot_id.empty()) {
    const SnapshotRecord* s = FindSnapshot(source_id, snapshot_id);
    if (s == nullptr || s->status != "Completed") {
      return Reply(404, AuraErrorBody("snapshot-not-found", "Snapshot not found: " + snapshot_id));
    }
  }
  if (r->type == "free-db") {
    return Reply(
        420, AuraErrorBody("unsupported-action", "Action unsupported for this tier of instance"));
  }
  if (SizeGb(r->memory) < SizeGb(source->memory)) {
    return Reply(500, AuraErrorBody("db-overwrite-size-disparity",
                                    "Cannot clone database " + source_id +
                                        " into smaller database " + id + "."));
  }
  if (auto refused = PinnedRefusal(*r)) return *refused;
  if (r->status != "running") return Busy(*r);
  Become(*r, "overwriting", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.restore);
  return Data(202, InstanceJson(*r));
}

}  // namespace aura::simulator
