#include "cmd/aura-controller/snapshots.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <stop_token>

#include "cmd/aura-controller/common.h"
#include "cmd/aura-controller/ha.h"
#include "pkg/etcd/etcd_operations.h"
#include "pkg/store/file_journal.h"
#include "pkg/store/instance_journal.h"
#include "pkg/store/operations.h"

namespace aura::cmd {
namespace {

using base::Status;

std::string KeyOf(const std::string& arg) {
  return arg.find('/') == std::string::npos ? "default/" + arg : arg;
}

// NS/NAME -> the instance id the journal holds for it (--instance-id: that id as given).
base::StatusOr<std::string> ResolveInstance(const Config& c, const std::string& arg,
                                            bool use_instance_id = true) {
  if (use_instance_id && !c.instance_id.empty()) return c.instance_id;
  const std::string key = KeyOf(arg);
  if (store::IsKeyEntry(key)) {
    return base::InvalidArgumentError(key +
                                      " is a customer-managed key's journal entry, not an "
                                      "instance: give NS/NAME of an AuraInstance spec");
  }
  std::optional<EtcdConnection> etcd;
  std::unique_ptr<store::Journal> journal;
  if (IsEtcdState(c)) {
    AURA_ASSIGN_OR_RETURN(EtcdConnection conn, ConnectEtcd(c));
    etcd = std::move(conn);
    AURA_ASSIGN_OR_RETURN(journal, OpenEtcdJournalReadOnly(*etcd, &base::RealClock()));
  } else {
    store::FileJournalOptions jo;
    jo.read_only = true;
    AURA_ASSIGN_OR_RETURN(journal, store::FileJournal::Open(c.state, &base::RealClock(), jo));
  }
  auto e = journal->Get(key);
  if (!e.ok() || e->instance_id.empty()) {
    return base::NotFoundError("no instance known for " + key + " in the journal " + c.state +
                               " (apply it first, or give --instance-id ID)");
  }
  return e->instance_id;
}

// Polls `done` every poll interval (doubling to --poll-max) until it says so, --timeout
// passes, or it fails; prints a line when the status it reports changes.
Status WaitFor(const Config& c, const std::string& what, std::stop_token stop,
               const std::function<base::StatusOr<std::pair<bool, std::string>>()>& done) {
  base::Clock& clock = base::RealClock();
  const auto start = clock.Now();
  const auto deadline = start + c.timeout;
  auto interval = std::chrono::duration_cast<base::Duration>(c.poll_interval);
  std::string last;
  for (;;) {
    AURA_ASSIGN_OR_RETURN(auto state, done());
    if (state.second != last) {
      const long s = std::chrono::duration_cast<std::chrono::seconds>(clock.Now() - start).count();
      std::cerr << "[" << s << "s] " << what << ": " << state.second << "\n";
      last = state.second;
    }
    if (state.first) return Status();
    if (clock.Now() + interval > deadline) {
      return base::DeadlineExceededError(what + " not done after --timeout; last: " + last);
    }
    if (!clock.SleepFor(interval, stop)) {
      return base::CancelledError("stopped waiting for " + what + " (signal); it goes on in Aura");
    }
    interval = std::min<base::Duration>(2 * interval, c.poll_max);
  }
}

int PrintSnapshots(const Config& c, const std::vector<api::Snapshot>& list) {
  if (c.output == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : list) {
      out.push_back({{"snapshot_id", s.snapshot_id},
                     {"instance_id", s.instance_id},
                     {"status", s.status},
                     {"timestamp", s.timestamp},
                     {"profile", s.profile}});
      if (s.exportable) out.back()["exportable"] = *s.exportable;
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "SNAPSHOT                              STATUS      PROFILE    TIMESTAMP\n";
  for (const auto& s : list) {
    std::string id = s.snapshot_id;
    id.resize(std::max<size_t>(id.size(), 37), ' ');
    std::string status = s.status;
    status.resize(std::max<size_t>(status.size(), 11), ' ');
    std::string profile = s.profile.empty() ? "-" : s.profile;
    profile.resize(std::max<size_t>(profile.size(), 10), ' ');
    std::cout << id << " " << status << " " << profile << " " << s.timestamp << "\n";
  }
  std::cout << list.size() << " snapshot(s)\n";
  return kExitOk;
}

// The API client of one operator command; SIGINT/SIGTERM stop it and end any wait.
class Session {
 public:
  static base::StatusOr<std::unique_ptr<Session>> Open(const Config& c, SignalWaiter& signals,
                                                       metrics::Metrics* m,
                                                       const base::Logger& log) {
    AURA_ASSIGN_OR_RETURN(std::unique_ptr<ApiStack> stack, BuildApi(c, &base::RealClock(), m, log));
    return std::unique_ptr<Session>(new Session(std::move(stack), signals));
  }
  api::Client& client() { return *stack_->client; }
  std::stop_token stop() const { return stop_.get_token(); }

 private:
  Session(std::unique_ptr<ApiStack> stack, SignalWaiter& signals)
      : stack_(std::move(stack)), stop_signals_(signals) {
    signals.Start([this](int) {
      stop_.request_stop();
      stack_->Stop();
    });
  }
  std::unique_ptr<ApiStack> stack_;
  std::stop_source stop_;
  StopSignalsOnExit stop_signals_;  // last: the signal thread is stopped before the rest goes
};

// The record of an operation on an instance while it runs (store/operations.h): written before
// the request is sent, so that a controller running beside this command leaves the instance
// alone until it is cleared (when the command ends, however it ends) or expires (after
// --timeout and a minute, should this process be killed).
class OperationGuard {
 public:
  static base::StatusOr<std::unique_ptr<OperationGuard>> Begin(const Config& c,
                                                               store::OperationRecord r) {
    auto g = std::unique_ptr<OperationGuard>(new OperationGuard());
    if (IsEtcdState(c)) {
      AURA_ASSIGN_OR_RETURN(EtcdConnection conn, ConnectEtcd(c));
      g->etcd_ = std::move(conn);
      g->log_ =
          std::make_unique<etcd::EtcdOperationLog>(g->etcd_->etcd.get(), g->etcd_->target.prefix);
    } else {
      g->log_ = std::make_unique<store::FileOperationLog>(store::OperationsDirOf(c.state));
    }
    r.started = base::RealClock().SystemNow();
    r.until = r.started + c.timeout + std::chrono::minutes(1);
    if (Status s = g->log_->Record(r); !s.ok()) {
      return base::Status(s).WithContext(
          "not sent: the " + r.operation +
          " could not be recorded for a controller running beside this command");
    }
    g->key_ = r.key;
    return g;
  }
  ~OperationGuard() {
    if (Status s = log_->Clear(key_); !s.ok()) {
      std::cerr << "aura-controller: the operation record of " << key_
                << " could not be cleared (it expires by itself): " << s.ToString() << "\n";
    }
  }
  OperationGuard(const OperationGuard&) = delete;
  OperationGuard& operator=(const OperationGuard&) = delete;

 private:
  OperationGuard() = default;
  std::optional<EtcdConnection> etcd_;
  std::unique_ptr<store::OperationLog> log_;
  std::string key_;
};

// "yes" from --yes or a terminal's answer; otherwise the command is refused before any request.
Status Confirm(const Config& c, const std::string& command, const std::string& question) {
  std::string why;
  if (Confirmed(
          c.yes, ::isatty(STDIN_FILENO) && ::isatty(STDERR_FILENO), question,
          [](std::string* line) { return static_cast<bool>(std::getline(std::cin, *line)); },
          &why)) {
    return Status::Ok();
  }
  return base::FailedPreconditionError(command + " " + why);
}

// After a restore or an overwrite was accepted (`status` its reply's): Aura may still report
// the old status for a moment, so the instance must leave running before running counts.
Status WaitUntilRunningAgain(const Config& c, Session& session, const std::string& id,
                             const std::string& status) {
  bool left_running = status != "running" && !status.empty();
  return WaitFor(c, "instance " + id, session.stop(),
                 [&]() -> base::StatusOr<std::pair<bool, std::string>> {
                   AURA_ASSIGN_OR_RETURN(
                       auto inst, session.client().GetInstance(id, ratelimit::Priority::kPoll));
                   left_running = left_running || inst.data.status != "running";
                   return std::make_pair(left_running && inst.data.status == "running",
                                         inst.data.status.str());
                 });
}

}  // namespace

int Snapshot(const Config& c, SignalWaiter& signals) {
  const bool ok_args = c.args.size() == 2 && (c.args[0] == "create" || c.args[0] == "list");
  if (!ok_args) {
    return Fail(base::InvalidArgumentError(
        "usage: aura-controller snapshot create|list [NAMESPACE/]NAME [--wait] "
        "[--instance-id ID]"));
  }
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  auto id = ResolveInstance(c, c.args[1]);
  if (!id.ok()) return Fail(id.status());
  auto session = Session::Open(c, signals, &m, log);
  if (!session.ok()) return Fail(session.status());
  api::Client& client = (*session)->client();
  if (c.args[0] == "list") {
    auto list = client.ListSnapshots(*id);
    if (!list.ok()) return Fail(list.status().WithContext("GET /instances/" + *id + "/snapshots"));
    return PrintSnapshots(c, list->data);
  }
  auto created = client.CreateSnapshot(*id);
  if (!created.ok()) {
    return Fail(created.status().WithContext("POST /instances/" + *id + "/snapshots"));
  }
  const std::string sid = created->data;
  std::cout << "snapshot " << sid << " of instance " << *id << " requested (X-Request-Id "
            << created->request_id << ")\n";
  if (!c.wait) return kExitOk;
  Status s = WaitFor(c, "snapshot " + sid, (*session)->stop(),
                     [&]() -> base::StatusOr<std::pair<bool, std::string>> {
                       AURA_ASSIGN_OR_RETURN(auto snap, client.GetSnapshot(*id, sid));
                       if (snap.data.status == "Failed") {
                         return base::FailedPreconditionError("snapshot " + sid + " failed");
                       }
                       return std::make_pair(snap.data.status == "Completed", snap.data.status);
                     });
  if (!s.ok()) return Fail(s);
  std::cout << "snapshot " << sid << " completed\n";
  return kExitOk;
}

int Restore(const Config& c, SignalWaiter& signals) {
  if (c.args.size() != 1 || c.snapshot_id.empty()) {
    return Fail(base::InvalidArgumentError(
        "usage: aura-controller restore [NAMESPACE/]NAME --snapshot ID [--yes] "
        "[--instance-id ID]"));
  }
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  auto id = ResolveInstance(c, c.args[0]);
  if (!id.ok()) return Fail(id.status());
  if (Status ok = Confirm(c, "restore",
                          "Restore instance " + *id + " (" + KeyOf(c.args[0]) + ") to snapshot " +
                              c.snapshot_id + "? Its current data is replaced.");
      !ok.ok()) {
    return Fail(ok);
  }
  auto session = Session::Open(c, signals, &m, log);
  if (!session.ok()) return Fail(session.status());
  auto guard = OperationGuard::Begin(
      c, {KeyOf(c.args[0]), *id, "restore", "to snapshot " + c.snapshot_id, {}, {}});
  if (!guard.ok()) return Fail(guard.status());
  api::Client& client = (*session)->client();
  auto r = client.RestoreSnapshot(*id, c.snapshot_id);
  if (!r.ok()) {
    return Fail(r.status().WithContext("POST /instances/" + *id + "/snapshots/" + c.snapshot_id +
                                       "/restore"));
  }
  std::cout << "restore of " << *id << " to snapshot " << c.snapshot_id
            << " accepted (X-Request-Id " << r->request_id << ")\n";
  Status s = WaitUntilRunningAgain(c, **session, *id, r->data.status);
  if (!s.ok()) return Fail(s);
  std::cout << "restored: " << *id << " is running\n";
  return kExitOk;
}

int Overwrite(const Config& c, SignalWaiter& signals) {
  if (c.args.size() != 1 || c.from.empty()) {
    return Fail(base::InvalidArgumentError(
        "usage: aura-controller overwrite [NAMESPACE/]NAME --from [NAMESPACE/]NAME2 "
        "[--snapshot ID] [--yes] [--instance-id ID]"));
  }
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  auto id = ResolveInstance(c, c.args[0]);
  if (!id.ok()) return Fail(id.status());
  auto source = ResolveInstance(c, c.from, /*use_instance_id=*/false);
  if (!source.ok()) return Fail(source.status().WithContext("--from"));
  if (*source == *id) {
    return Fail(base::InvalidArgumentError("--from names the instance to overwrite itself"));
  }
  if (Status ok = Confirm(c, "overwrite",
                          "Overwrite instance " + *id + " (" + KeyOf(c.args[0]) +
                              ") with the data of " + *source + " (" + KeyOf(c.from) + ")" +
                              (c.snapshot_id.empty() ? "" : " snapshot " + c.snapshot_id) +
                              "? Its current data is replaced.");
      !ok.ok()) {
    return Fail(ok);
  }
  auto session = Session::Open(c, signals, &m, log);
  if (!session.ok()) return Fail(session.status());
  auto guard = OperationGuard::Begin(
      c, {KeyOf(c.args[0]),
          *id,
          "overwrite",
          "from " + *source + (c.snapshot_id.empty() ? "" : " snapshot " + c.snapshot_id),
          {},
          {}});
  if (!guard.ok()) return Fail(guard.status());
  api::Client& client = (*session)->client();
  auto r = client.OverwriteInstance(*id, *source, c.snapshot_id);
  if (!r.ok()) return Fail(r.status().WithContext("POST /instances/" + *id + "/overwrite"));
  std::cout << "overwrite of " << *id << " from " << *source << " accepted (X-Request-Id "
            << r->request_id << ")\n";
  Status s = WaitUntilRunningAgain(c, **session, *id, r->data.status);
  if (!s.ok()) return Fail(s);
  std::cout << "overwritten: " << *id << " is running\n";
  return kExitOk;
}

}  // namespace aura::cmd
