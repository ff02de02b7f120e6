#include "pkg/reconcile/connection_secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/report.h"
#include "pkg/reconcile/testing/fakes.h"
#include "pkg/reconcile/testing/mem_secret_store.h"

namespace aura::reconcile {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using testing::FakeAuraApi;
using ::testing::HasSubstr;
using testing::MakeSpec;
using testing::MemCredentialStore;
using testing::MemJournal;
using testing::MemSecretStore;
using testing::StaticSpecSource;

constexpr char kKey[] = "default/orders";

store::JournalEntry CreatedEntry(const std::string& id = "i-1") {
  store::JournalEntry e;
  e.key = kKey;
  e.instance_id = id;
  e.aura_name = "orders";
  e.tenant_id = "tenant-1";
  e.credentials_saved = true;
  return e;
}

store::Credentials CredsFor(const std::string& id) {
  return {id, "neo4j+s://" + id + ".databases.neo4j.io", "neo4j", "pw-" + id};
}

InstanceObservation Seen(const std::string& id, const std::string& name, const std::string& url) {
  InstanceObservation o;
  o.found = true;
  o.instance.id = id;
  o.instance.name = name;
  o.instance.status = "running";
  o.instance.connection_url = url;
  return o;
}

SecretObject Foreign(const std::string& name) {
  SecretObject s;
  s.namespace_name = "default";
  s.name = name;
  s.data = {{"password", "theirs"}};
  s.labels = {{"app", "legacy"}};
  return s;
}

// --- pure functions ---------------------------------------------------------------------------

TEST(DesiredSecretTest, HoldsTheConsoleEnvKeysFromStoreAndObservation) {
  const spec::InstanceSpec spec = MakeSpec("orders");
  const store::Credentials creds = CredsFor("i-1");
  DesiredSecret d = DesiredSecretFor(kKey, spec, CreatedEntry(), nullptr, &creds);
  EXPECT_EQ(d.namespace_name, "default");
  EXPECT_EQ(d.name, "orders-aura");
  EXPECT_EQ(d.data,
            (std::map<std::string, std::string>{{"AURA_INSTANCEID", "i-1"},
                                                {"AURA_INSTANCENAME", "orders"},
                                                {"NEO4J_PASSWORD", "pw-i-1"},
                                                {"NEO4J_URI", "neo4j+s://i-1.databases.neo4j.io"},
                                                {"NEO4J_USERNAME", "neo4j"}}));
  EXPECT_EQ(d.password_note, "");

  // The latest observation wins for the URI and the name.
  const InstanceObservation seen = Seen("i-1", "orders-renamed", "neo4j+s://moved.example");
  d = DesiredSecretFor(kKey, spec, CreatedEntry(), &seen, &creds);
  EXPECT_EQ(d.data.at("NEO4J_URI"), "neo4j+s://moved.example");
  EXPECT_EQ(d.data.at("AURA_INSTANCENAME"), "orders-renamed");
  // Paused: no URL observed, the saved one stays.
  const InstanceObservation paused = Seen("i-1", "orders", "");
  d = DesiredSecretFor(kKey, spec, CreatedEntry(), &paused, &creds);
  EXPECT_EQ(d.data.at("NEO4J_URI"), "neo4j+s://i-1.databases.neo4j.io");

  spec::InstanceSpec named = spec;
  named.connection_secret = "orders-neo4j";
  EXPECT_EQ(DesiredSecretFor(kKey, named, CreatedEntry(), nullptr, &creds).name, "orders-neo4j");
}

TEST(DesiredSecretTest, AdoptedHasNoPasswordAndSaysWhy) {
  store::JournalEntry e = CreatedEntry();
  e.credentials_saved = false;
  e.origin = store::Origin::kAdopted;
  e.credentials_note = "adopted";
  const InstanceObservation seen = Seen("i-1", "orders", "neo4j+s://i-1.example");
  DesiredSecret d = DesiredSecretFor(kKey, MakeSpec("orders"), e, &seen, nullptr);
  EXPECT_FALSE(d.data.contains("NEO4J_PASSWORD"));
  EXPECT_EQ(d.data.at("NEO4J_USERNAME"), "neo4j");
  EXPECT_EQ(d.data.at("NEO4J_URI"), "neo4j+s://i-1.example");
  EXPECT_THAT(d.password_note, HasSubstr("adopted"));
  // Credentials of another instance are never used.
  const store::Credentials other = CredsFor("i-0");
  e.credentials_saved = true;
  d = DesiredSecretFor(kKey, MakeSpec("orders"), e, &seen, &other);
  EXPECT_FALSE(d.data.contains("NEO4J_PASSWORD"));
}

TEST(DecideSecretTest, CreateUpdateOnlyWhatDiffersAndNeverSomeoneElses) {
  const store::Credentials creds = CredsFor("i-1");
  const InstanceObservation seen = Seen("i-1", "orders", "neo4j+s://i-1.databases.neo4j.io");
  const DesiredSecret d = DesiredSecretFor(kKey, MakeSpec("orders"), CreatedEntry(), &seen, &creds);
  SecretDecision create = DecideSecret(kKey, d, std::nullopt, true);
  ASSERT_EQ(create.op, SecretDecision::Op::kCreate);
  EXPECT_EQ(create.write.labels.at("app.kubernetes.io/managed-by"), "aura-controller");
  EXPECT_EQ(create.write.annotations.at("aura.neo4j.io/spec-key"), kKey);
  EXPECT_EQ(create.write.type, "Opaque");
  EXPECT_EQ(create.write.resource_version, "");

  SecretObject current = create.write;
  current.resource_version = "7";
  current.data["EXTRA"] = "kept";
  current.labels["team"] = "shop";
  EXPECT_EQ(DecideSecret(kKey, d, current, true).op, SecretDecision::Op::kNone);

  current.data["NEO4J_URI"] = "neo4j+s://old";
  SecretDecision update = DecideSecret(kKey, d, current, true);
  ASSERT_EQ(update.op, SecretDecision::Op::kUpdate);
  EXPECT_THAT(update.changed, ElementsAre("NEO4J_URI"));
  EXPECT_EQ(update.write.resource_version, "7");
  EXPECT_EQ(update.write.data.at("EXTRA"), "kept");
  EXPECT_EQ(update.write.labels.at("team"), "shop");

  SecretDecision foreign = DecideSecret(kKey, d, Foreign("orders-aura"), true);
  EXPECT_EQ(foreign.op, SecretDecision::Op::kConflict);
  EXPECT_THAT(foreign.conflict, HasSubstr("not managed by aura-controller"));
  SecretObject other_key = create.write;
  other_key.annotations["aura.neo4j.io/spec-key"] = "default/reports";
  EXPECT_THAT(DecideSecret(kKey, d, other_key, true).conflict,
              HasSubstr("managed for spec default/reports"));
  SecretObject tls = create.write;
  tls.type = "kubernetes.io/tls";
  EXPECT_EQ(DecideSecret(kKey, d, tls, true).op, SecretDecision::Op::kConflict);
}

TEST(DecideSecretTest, APasswordWrittenByHandStaysForTheSameInstanceOnly) {
  store::JournalEntry e = CreatedEntry();
  e.credentials_saved = false;
  e.credentials_note = "adopted";
  const InstanceObservation seen = Seen("i-1", "orders", "neo4j+s://i-1.example");
  const DesiredSecret d = DesiredSecretFor(kKey, MakeSpec("orders"), e, &seen, nullptr);
  SecretObject current = DecideSecret(kKey, d, std::nullopt, true).write;
  current.resource_version = "3";
  current.data["NEO4J_PASSWORD"] = "typed-in";
  EXPECT_EQ(DecideSecret(kKey, d, current, true).op, SecretDecision::Op::kNone);
  current.data["AURA_INSTANCEID"] = "i-0";  // the Secret was for an earlier instance
  SecretDecision u = DecideSecret(kKey, d, current, true);
  ASSERT_EQ(u.op, SecretDecision::Op::kUpdate);
  EXPECT_FALSE(u.write.data.contains("NEO4J_PASSWORD"));
  EXPECT_THAT(u.changed, ElementsAre("NEO4J_PASSWORD", "AURA_INSTANCEID"));
}

TEST(DecideSecretTest, PlanWithoutThePasswordStillSeesItMissing) {
  const DesiredSecret d = DesiredSecretFor(kKey, MakeSpec("orders"), CreatedEntry(), nullptr,
                                           nullptr);  // saved, not loaded
  SecretDecision create = DecideSecret(kKey, d, std::nullopt, false);
  EXPECT_THAT(create.changed, ::testing::Contains("NEO4J_PASSWORD"));
  SecretObject current = create.write;
  current.resource_version = "1";
  current.data["NEO4J_URI"] = "neo4j+s://x";  // no creds: the URI is unknown here
  current.data["NEO4J_PASSWORD"] = "whatever";
  EXPECT_EQ(DecideSecret(kKey, d, current, false).op, SecretDecision::Op::kNone);
  current.data.erase("NEO4J_PASSWORD");
  EXPECT_THAT(DecideSecret(kKey, d, current, false).changed, ElementsAre("NEO4J_PASSWORD"));
}

// --- the sync ---------------------------------------------------------------------------------

class ConnectionSecretsTest : public ::testing::Test {
 protected:
  ConnectionSecretsTest()
      : log_(
            base::LogLevel::kDebug, base::LogFormat::kJson,
            [this](std::string_view l) {
              std::lock_guard<std::mutex> g(mu_);
              lines_.emplace_back(l);
            },
            &clock_),
        sync_(secrets_, journal_, creds_, clock_, metrics_, log_, Options()) {
    spec_ = MakeSpec("orders");
  }

  static ConnectionSecretOptions Options() {
    ConnectionSecretOptions o;
    o.retry_base = seconds(1);
    o.retry_max = seconds(8);
    o.verify_interval = seconds(60);
    return o;
  }

  // A created instance: password saved, then journal Created (the executor's order).
  void Created(const std::string& id = "i-1") {
    ASSERT_TRUE(creds_.Save(kKey, CredsFor(id)).ok());
    store::JournalEntry e = CreatedEntry(id);
    if (auto old = journal_.Get(kKey); old.ok()) e.connection_secrets = old->connection_secrets;
    ASSERT_TRUE(journal_.Put(e).ok());
  }

  std::optional<base::Duration> Sync(const InstanceObservation* o = nullptr) {
    auto e = journal_.Get(kKey);
    return sync_.Sync(spec_, e.ok() ? &*e : nullptr, o);
  }

  SpecStatus Status() {
    SpecStatus s;
    sync_.Annotate(kKey, &s);
    return s;
  }

  std::map<std::string, std::string> Data(const std::string& name = "orders-aura") {
    auto s = secrets_.Find("default", name);
    return s ? s->data : std::map<std::string, std::string>{};
  }

  std::string Logs() {
    std::lock_guard<std::mutex> g(mu_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

  base::FakeClock clock_;
  MemJournal journal_;
  MemCredentialStore creds_;
  MemSecretStore secrets_;
  metrics::Metrics metrics_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  base::Logger log_;
  ConnectionSecrets sync_;
  spec::InstanceSpec spec_;
};

TEST_F(ConnectionSecretsTest, WrittenAfterTheStoreOnceAndThenLeftAlone) {
  // No instance yet: nothing is written.
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(secrets_.size(), 0u);
  EXPECT_EQ(Status().secret_reason, "WaitingForInstance");
  EXPECT_EQ(sync_.State(kKey), SecretState::kWaiting);

  Created();
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(Data().at("NEO4J_PASSWORD"), "pw-i-1");
  EXPECT_EQ(Data().at("AURA_INSTANCEID"), "i-1");
  // The name was recorded in the journal before the Secret was written.
  EXPECT_THAT(journal_.Get(kKey)->connection_secrets, ElementsAre("orders-aura"));
  SpecStatus st = Status();
  EXPECT_TRUE(st.secret_synced);
  EXPECT_EQ(st.secret, "default/orders-aura");
  EXPECT_EQ(st.secret_reason, "Synced");
  EXPECT_EQ(metrics_.ConnectionSecretWrites("created").Value(), 1);
  EXPECT_EQ(sync_.State(kKey), SecretState::kSynced);
  EXPECT_THAT(Logs(), ::testing::Not(HasSubstr("pw-i-1")));

  // Idempotent: no request at all while nothing changed and the read-back is not due...
  const int gets = secrets_.calls("get");
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(secrets_.calls("get"), gets);
  // ...then a GET and no write.
  clock_.Advance(seconds(61));
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(secrets_.calls("get"), gets + 1);
  EXPECT_EQ(secrets_.calls("put"), 1);
  // A read-back that fails (the API away) leaves it synced, not pending, and is retried.
  secrets_.SetDown(true);
  clock_.Advance(seconds(61));
  auto retry = Sync();
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(sync_.State(kKey), SecretState::kSynced);
  EXPECT_EQ(sync_.Pending(), 0u);
  EXPECT_TRUE(Status().secret_synced);
  EXPECT_THAT(Status().secret_message, HasSubstr("read-back failed"));
  EXPECT_FALSE(Sync().has_value());  // not again before the retry is due
  EXPECT_EQ(secrets_.calls("get"), gets + 2);
  secrets_.SetDown(false);
  clock_.Advance(*retry);
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(secrets_.calls("get"), gets + 3);
  // Deleted by someone: written again at the next read-back.
  secrets_.Remove("default", "orders-aura");
  clock_.Advance(seconds(61));
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(Data().at("NEO4J_PASSWORD"), "pw-i-1");
}

TEST_F(ConnectionSecretsTest, FollowsTheUriAndTheNameAndANewInstance) {
  Created();
  InstanceObservation o = Seen("i-1", "orders", "neo4j+s://i-1.databases.neo4j.io");
  Sync(&o);
  const int puts = secrets_.calls("put");
  o.instance.connection_url = "neo4j+s://i-1.elsewhere.neo4j.io";
  Sync(&o);
  EXPECT_EQ(Data().at("NEO4J_URI"), "neo4j+s://i-1.elsewhere.neo4j.io");
  o.instance.name = "orders-v2";
  Sync(&o);
  EXPECT_EQ(Data().at("AURA_INSTANCENAME"), "orders-v2");
  EXPECT_EQ(secrets_.calls("put"), puts + 2);
  EXPECT_THAT(Status().secret_message, HasSubstr("AURA_INSTANCENAME"));
  // After a restart nothing is observed yet: what was written for this instance stays (no
  // flapping back to the name in the journal).
  ConnectionSecrets restarted(secrets_, journal_, creds_, clock_, metrics_, log_, Options());
  auto e = journal_.Get(kKey);
  EXPECT_FALSE(restarted.Sync(spec_, &*e, nullptr).has_value());
  EXPECT_EQ(secrets_.calls("put"), puts + 2);
  EXPECT_EQ(Data().at("AURA_INSTANCENAME"), "orders-v2");
  // Paused: the URI stays as written.
  o.instance.connection_url = "";
  Sync(&o);
  EXPECT_EQ(Data().at("NEO4J_URI"), "neo4j+s://i-1.elsewhere.neo4j.io");
  // Recreated (a new instance, a new password): every key follows.
  Created("i-2");
  InstanceObservation o2 = Seen("i-2", "orders", "neo4j+s://i-2.databases.neo4j.io");
  Sync(&o2);
  EXPECT_EQ(Data().at("NEO4J_PASSWORD"), "pw-i-2");
  EXPECT_EQ(Data().at("AURA_INSTANCEID"), "i-2");
  EXPECT_EQ(Data().at("NEO4J_URI"), "neo4j+s://i-2.databases.neo4j.io");
}

TEST_F(ConnectionSecretsTest, APasswordNotSavedYetHoldsTheSecretBack) {
  store::JournalEntry e = CreatedEntry();
  e.credentials_saved = false;
  e.credentials_note = "unsaved";
  ASSERT_TRUE(journal_.Put(e).ok());
  auto retry = Sync();
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(secrets_.size(), 0u);
  EXPECT_EQ(Status().secret_reason, "PasswordNotSaved");
  EXPECT_EQ(sync_.Pending(), 1u);
  // Saved (the executor's retry), and the journal says so: the Secret follows at once.
  Created();
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(Data().at("NEO4J_PASSWORD"), "pw-i-1");
  EXPECT_EQ(sync_.Pending(), 0u);
}

TEST_F(ConnectionSecretsTest, AdoptedGetsASecretWithoutPasswordAndStatusSaysWhy) {
  store::JournalEntry e = CreatedEntry();
  e.credentials_saved = false;
  e.origin = store::Origin::kAdopted;
  e.credentials_note = "adopted";
  ASSERT_TRUE(journal_.Put(e).ok());
  // Before its details are read the URI is unknown: nothing yet.
  Sync();
  EXPECT_EQ(secrets_.size(), 0u);
  const InstanceObservation o = Seen("i-1", "orders", "neo4j+s://i-1.example");
  Sync(&o);
  EXPECT_FALSE(Data().contains("NEO4J_PASSWORD"));
  EXPECT_EQ(Data().at("NEO4J_URI"), "neo4j+s://i-1.example");
  SpecStatus st = Status();
  EXPECT_TRUE(st.secret_synced);
  EXPECT_EQ(st.secret_reason, "PasswordUnknown");
  EXPECT_THAT(st.secret_message, HasSubstr("adopted"));
}

TEST_F(ConnectionSecretsTest, AForeignSecretIsNeverTouchedAndReportedUntilItGoes) {
  secrets_.Seed(Foreign("orders-aura"));
  Created();
  auto retry = Sync();
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(Data().at("password"), "theirs");
  EXPECT_FALSE(Data().contains("NEO4J_PASSWORD"));
  SpecStatus st = Status();
  EXPECT_FALSE(st.secret_synced);
  EXPECT_EQ(st.secret_reason, "Conflict");
  EXPECT_EQ(sync_.State(kKey), SecretState::kTerminal);
  EXPECT_EQ(sync_.Pending(), 1u);
  EXPECT_EQ(metrics_.ConnectionSecretWrites("conflict").Value(), 1);
  // Backing off: no request before the retry is due.
  const int gets = secrets_.calls("get");
  EXPECT_TRUE(Sync().has_value());
  EXPECT_EQ(secrets_.calls("get"), gets);
  clock_.Advance(*retry);
  Sync();
  EXPECT_EQ(metrics_.ConnectionSecretWrites("conflict").Value(), 1);  // counted once
  // Its owner removes it: the next retry writes ours.
  secrets_.Remove("default", "orders-aura");
  clock_.Advance(seconds(8));
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(Data().at("NEO4J_PASSWORD"), "pw-i-1");
  EXPECT_EQ(sync_.Pending(), 0u);
}

TEST_F(ConnectionSecretsTest, ConcurrentWritesAreReadAgainNeverOverwritten) {
  Created();
  // Someone creates a Secret of that name between our GET and our create: 409, read again,
  // and it is not ours: a conflict, their Secret intact.
  secrets_.BeforeNextWrite([](MemSecretStore& s) { s.Seed(Foreign("orders-aura")); });
  Sync();
  EXPECT_EQ(Status().secret_reason, "Conflict");
  EXPECT_EQ(Data().at("password"), "theirs");

  // Our own Secret edited between GET and PUT: 409, read again, updated from the new version.
  secrets_.Remove("default", "orders-aura");
  clock_.Advance(seconds(8));
  Sync();
  ASSERT_TRUE(Status().secret_synced) << Logs();
  InstanceObservation o = Seen("i-1", "orders", "neo4j+s://new");
  secrets_.BeforeNextWrite([](MemSecretStore& s) {
    auto cur = s.Find("default", "orders-aura");
    cur->data["EXTRA"] = "added by a person";
    s.Seed(*cur);
  });
  Sync(&o);
  EXPECT_TRUE(Status().secret_synced) << Logs();
  EXPECT_EQ(Data().at("NEO4J_URI"), "neo4j+s://new");
  EXPECT_EQ(Data().at("EXTRA"), "added by a person");
}

TEST_F(ConnectionSecretsTest, RbacRefusalIsReportedAndRetriedWithBackoff) {
  secrets_.Forbid("default");
  Created();
  std::vector<base::Duration> delays;
  for (int i = 0; i < 5; ++i) {
    auto retry = Sync();
    ASSERT_TRUE(retry.has_value());
    delays.push_back(*retry);
    clock_.Advance(*retry);
  }
  EXPECT_EQ(delays, (std::vector<base::Duration>{seconds(1), seconds(2), seconds(4), seconds(8),
                                                 seconds(8)}));
  SpecStatus st = Status();
  EXPECT_EQ(st.secret_reason, "Forbidden");
  EXPECT_THAT(st.secret_message, HasSubstr("namespace default"));
  EXPECT_EQ(sync_.State(kKey), SecretState::kTerminal);
  EXPECT_GE(metrics_.ConnectionSecretWrites("forbidden").Value(), 5);
  secrets_.Forbid("default", false);
  EXPECT_FALSE(Sync().has_value());
  EXPECT_TRUE(Status().secret_synced);
}

TEST_F(ConnectionSecretsTest, ApiDownForAWhileThenEverythingCatchesUp) {
  secrets_.SetDown(true);
  Created();
  auto retry = Sync();
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(sync_.State(kKey), SecretState::kPending);
  EXPECT_EQ(Status().secret_reason, "Unavailable");
  secrets_.SetDown(false);
  clock_.Advance(*retry);
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(Data().at("NEO4J_PASSWORD"), "pw-i-1");
}

TEST_F(ConnectionSecretsTest, ARenameWritesTheNewSecretThenDeletesTheOld) {
  Created();
  Sync();
  secrets_.Seed(Foreign("orders-db"));  // somebody else's: never deleted
  spec_.connection_secret = "orders-neo4j";
  EXPECT_FALSE(Sync().has_value());
  EXPECT_EQ(Data("orders-neo4j").at("NEO4J_PASSWORD"), "pw-i-1");
  EXPECT_FALSE(secrets_.Find("default", "orders-aura").has_value());
  EXPECT_THAT(journal_.Get(kKey)->connection_secrets, ElementsAre("orders-neo4j"));
  EXPECT_EQ(metrics_.ConnectionSecretWrites("deleted").Value(), 1);
  EXPECT_TRUE(secrets_.Find("default", "orders-db").has_value());
}

TEST_F(ConnectionSecretsTest, RemovalDeletesWithDeleteKeepsWithRetain) {
  Created();
  Sync();
  store::JournalEntry e = *journal_.Get(kKey);
  base::Duration retry{};
  // Retain: kept.
  ASSERT_TRUE(sync_.BeforeForget(e, &retry).ok());
  EXPECT_TRUE(secrets_.Find("default", "orders-aura").has_value());
  // Delete: deleted; a failure holds the forget and says when to retry.
  e.delete_on_removal = true;
  secrets_.SetDown(true);
  base::Status held = sync_.BeforeForget(e, &retry);
  EXPECT_FALSE(held.ok());
  EXPECT_THAT(held.message(), HasSubstr("deleting connection Secret default/orders-aura"));
  EXPECT_EQ(retry, seconds(1));
  EXPECT_EQ(sync_.Pending(), 1u);
  EXPECT_FALSE(sync_.BeforeForget(e, &retry).ok());  // still backing off: nothing sent
  secrets_.SetDown(false);
  clock_.Advance(seconds(1));
  ASSERT_TRUE(sync_.BeforeForget(e, &retry).ok());
  EXPECT_FALSE(secrets_.Find("default", "orders-aura").has_value());
  EXPECT_EQ(sync_.Pending(), 0u);
  // A foreign Secret of a recorded name is never deleted.
  secrets_.Seed(Foreign("orders-aura"));
  ASSERT_TRUE(sync_.BeforeForget(e, &retry).ok());
  EXPECT_TRUE(secrets_.Find("default", "orders-aura").has_value());
}

TEST_F(ConnectionSecretsTest, PlanShowsCreateUpdateConflictDeleteWithoutWriting) {
  auto none = sync_.PlanFor(kKey, &spec_, nullptr, nullptr, false);
  ASSERT_TRUE(none.ok());
  ASSERT_EQ(none->size(), 1u);
  EXPECT_EQ((*none)[0].op, "secret-create");
  EXPECT_EQ((*none)[0].reason, "once the instance exists");

  Created();
  Sync();
  store::JournalEntry e = *journal_.Get(kKey);
  InstanceObservation o = Seen("i-1", "orders", "neo4j+s://i-1.databases.neo4j.io");
  EXPECT_TRUE(sync_.PlanFor(kKey, &spec_, &e, &o, false)->empty());
  o.instance.name = "renamed";
  auto update = sync_.PlanFor(kKey, &spec_, &e, &o, false);
  ASSERT_EQ(update->size(), 1u);
  EXPECT_EQ((*update)[0].op, "secret-update");
  EXPECT_EQ((*update)[0].reason, "changed AURA_INSTANCENAME");

  spec_.connection_secret = "orders-neo4j";
  secrets_.Seed(Foreign("orders-neo4j"));
  auto renamed = sync_.PlanFor(kKey, &spec_, &e, &o, false);
  ASSERT_EQ(renamed->size(), 2u);
  EXPECT_EQ((*renamed)[0].op, "secret-conflict");
  EXPECT_EQ((*renamed)[1].op, "secret-delete");
  EXPECT_EQ((*renamed)[1].secret, "default/orders-aura");

  e.delete_on_removal = true;
  auto removed = sync_.PlanFor(kKey, nullptr, &e, nullptr, true);
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].op, "secret-delete");
  EXPECT_EQ(secrets_.writes(), 1);  // only the Sync above wrote

  secrets_.SetDown(true);
  EXPECT_FALSE(sync_.PlanFor(kKey, &spec_, &e, &o, false).ok());
}

// --- through the controller -------------------------------------------------------------------

class ControllerSecretsTest : public ::testing::Test {
 protected:
  ControllerSecretsTest() : api_(&clock_) {
    options_.poll_initial = seconds(5);
    options_.resync = seconds(60);
    options_.plan.allow_delete = true;
    options_.failure_base = seconds(1);
    options_.failure_max = seconds(8);
  }

  Controller& Make() {
    controller_ = std::make_unique<Controller>(options_, api_, journal_, creds_, specs_, clock_,
                                               metrics_, base::Logger());
    ConnectionSecretOptions so;
    so.retry_base = options_.failure_base;
    so.retry_max = options_.failure_max;
    controller_->EnableConnectionSecrets(secrets_, creds_, so);
    return *controller_;
  }

  bool Converge(int limit = 40) {
    return testing::Converge(*controller_, api_, clock_, limit, /*first_pass_ok=*/false);
  }

  std::optional<SpecStatus> StatusOf(const std::string& key) {
    for (const auto& s : controller_->Statuses()) {
      if (s.key == key) return s;
    }
    return std::nullopt;
  }

  base::FakeClock clock_;
  FakeAuraApi api_;
  MemJournal journal_;
  MemCredentialStore creds_;
  StaticSpecSource specs_;
  MemSecretStore secrets_;
  metrics::Metrics metrics_;
  ControllerOptions options_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(ControllerSecretsTest, CreateWritesTheSecretAndApplyWaitsForIt) {
  specs_.Set({MakeSpec("orders"), MakeSpec("reports")});
  secrets_.SetDown(true);
  Make();
  EXPECT_FALSE(Converge(10)) << "converged without the Secrets";
  EXPECT_EQ(metrics_.connection_secrets_pending.Value(), 2);
  EXPECT_FALSE(controller_->OnlyTerminalLeft());
  secrets_.SetDown(false);
  ASSERT_TRUE(Converge());
  for (const char* name : {"orders", "reports"}) {
    auto s = secrets_.Find("default", std::string(name) + "-aura");
    ASSERT_TRUE(s.has_value()) << name;
    EXPECT_EQ(s->data.at("NEO4J_PASSWORD"),
              creds_.all().at(std::string("default/") + name).password);
  }
  auto st = StatusOf("default/orders");
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->secret_synced);
  EXPECT_EQ(st->secret, "default/orders-aura");
  EXPECT_EQ(metrics_.connection_secrets_pending.Value(), 0);
  EXPECT_EQ(metrics_.ConnectionSecretWrites("created").Value(), 2);
}

TEST_F(ControllerSecretsTest, AConflictEndsApplyWaitNamingIt) {
  SecretObject foreign;
  foreign.namespace_name = "default";
  foreign.name = "orders-aura";
  secrets_.Seed(foreign);
  specs_.Set({MakeSpec("orders")});
  Make();
  EXPECT_FALSE(Converge(10));
  EXPECT_TRUE(controller_->OnlyTerminalLeft());
  auto st = StatusOf("default/orders");
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->ready);
  EXPECT_EQ(st->secret_reason, "Conflict");
  base::Status s =
      controller_->Apply(/*wait=*/true, clock_.Now() + std::chrono::minutes(5), nullptr);
  EXPECT_EQ(s.code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("connection Secret default/orders-aura, Conflict"));
}

TEST_F(ControllerSecretsTest, RemovedWithDeleteTheSecretGoesAfterTheInstance) {
  spec::InstanceSpec orders = MakeSpec("orders");
  orders.deletion_policy = spec::DeletionPolicy::kDelete;
  spec::InstanceSpec kept = MakeSpec("kept");
  specs_.Set({orders, kept});
  Make();
  ASSERT_TRUE(Converge());
  ASSERT_EQ(secrets_.size(), 2u);
  specs_.Set({});
  secrets_.SetDown(true);
  // The instance is deleted; the key stays in the journal while its Secret cannot be deleted.
  for (int i = 0; i < 12; ++i) {
    (void)controller_->StartPass();
    controller_->ProcessReady();
    api_.SettleAll();
    clock_.Advance(seconds(5));
  }
  EXPECT_TRUE(api_.instances().size() == 1u);  // "kept" is Retain
  EXPECT_TRUE(journal_.Get("default/orders").ok());
  EXPECT_FALSE(journal_.Get("default/kept").ok());  // Retain: forgotten at once
  auto st = StatusOf("default/orders");
  ASSERT_TRUE(st.has_value());
  EXPECT_THAT(st->message, HasSubstr("not forgotten until its connection Secret is deleted"));
  EXPECT_FALSE(controller_->Converged());  // apply --wait waits for the delete too
  EXPECT_FALSE(controller_->OnlyTerminalLeft());
  EXPECT_EQ(metrics_.connection_secrets_pending.Value(), 1);
  secrets_.SetDown(false);
  for (int i = 0; i < 6 && journal_.Get("default/orders").ok(); ++i) {
    clock_.Advance(seconds(8));
    controller_->ProcessReady();
  }
  EXPECT_FALSE(journal_.Get("default/orders").ok());
  EXPECT_FALSE(secrets_.Find("default", "orders-aura").has_value());
  EXPECT_TRUE(controller_->Converged());
  EXPECT_TRUE(secrets_.Find("default", "kept-aura").has_value());  // Retain: still works
}

TEST_F(ControllerSecretsTest, PlanShowsTheSecretsAndWritesNothing) {
  specs_.Set({MakeSpec("orders")});
  Make();
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->keys.size(), 1u);
  ASSERT_EQ(plan->keys[0].secret_changes.size(), 1u);
  EXPECT_EQ(plan->keys[0].secret_changes[0].op, "secret-create");
  EXPECT_EQ(plan->keys[0].secret_changes[0].secret, "default/orders-aura");
  EXPECT_THAT(PlanTable(*plan), HasSubstr("secret-create"));
  EXPECT_TRUE(plan->HasChanges());
  EXPECT_EQ(secrets_.writes(), 0);
}

}  // namespace
}  // namespace aura::reconcile
