#include "pkg/store/file_credential_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "pkg/base/log.h"
#include "pkg/store/codec.h"
#include "pkg/store/fault_file_system.h"
#include "pkg/store/test_util.h"

namespace aura::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testutil::Exists;
using testutil::ModeOf;
using testutil::Names;
using testutil::ReadRaw;
using testutil::ScratchDir;
using testutil::WriteRaw;

Credentials Creds(const std::string& id, const std::string& password) {
  return Credentials{id, "neo4j+s://" + id + ".databases.neo4j.io", "neo4j", password};
}

class FileCredentialStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<FileCredentialStore> MustOpen(FileSystem* fs = nullptr) {
    FileCredentialStoreOptions o;
    o.fs = fs;
    o.clock = &clock_;
    auto s = FileCredentialStore::Open(root_, o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // The bytes a Save of `c` at time `t` writes.
  std::string Bytes(const std::string& key, const Credentials& c, base::SystemTime t) {
    return *detail::EncodeCredentials(key, c, t);
  }

  ScratchDir dir_;
  std::string root_ = dir_ / "creds";
  base::FakeClock clock_;
};

TEST_F(FileCredentialStoreTest, SaveAndLoadWithPrivateModes) {
  auto store = MustOpen();
  EXPECT_EQ(ModeOf(root_), 0700);
  ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-one-1234")).ok());
  EXPECT_EQ(ModeOf(root_ + "/shop"), 0700);
  EXPECT_EQ(ModeOf(root_ + "/shop/orders.json"), 0600);
  auto c = store->Load("shop/orders");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->instance_id, "id1");
  EXPECT_EQ(c->connection_url, "neo4j+s://id1.databases.neo4j.io");
  EXPECT_EQ(c->username, "neo4j");
  EXPECT_EQ(c->password, "pw-one-1234");
  EXPECT_EQ(*store->PathFor("shop/orders"), root_ + "/shop/orders.json");
  const nlohmann::json doc = nlohmann::json::parse(ReadRaw(root_ + "/shop/orders.json"));
  EXPECT_EQ(doc["key"], "shop/orders");
  EXPECT_EQ(doc["saved_at"], detail::FormatTime(clock_.SystemNow()));
}

TEST_F(FileCredentialStoreTest, SaveReplacesAtomically) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-one-1234")).ok());
  ASSERT_TRUE(store->Save("shop/orders", Creds("id2", "pw-two-5678")).ok());
  EXPECT_EQ(store->Load("shop/orders")->instance_id, "id2");
  EXPECT_EQ(Names(root_ + "/shop"), std::set<std::string>{"orders.json"});
  store.reset();
  EXPECT_EQ(MustOpen()->Load("shop/orders")->password, "pw-two-5678");
}

TEST_F(FileCredentialStoreTest, LoadOfAnUnknownKeyIsNotFound) {
  auto store = MustOpen();
  auto c = store->Load("shop/none");
  EXPECT_EQ(c.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr(root_ + "/shop/none.json"));
}

TEST_F(FileCredentialStoreTest, PasswordsAreRegisteredAsSecrets) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "saved-secret-77")).ok());
  EXPECT_EQ(base::Redact("pw=saved-secret-77"), "pw=[REDACTED]");
  WriteRaw(root_ + "/shop/other.json",
           Bytes("shop/other", Creds("id9", "loaded-secret-88"), clock_.SystemNow()));
  ASSERT_TRUE(store->Load("shop/other").ok());
  EXPECT_EQ(base::Redact("loaded-secret-88"), "[REDACTED]");
}

TEST_F(FileCredentialStoreTest, KeysThatCouldEscapeTheFolderAreRejected) {
  auto store = MustOpen();
  for (const char* key : {"", "orders", "/orders", "shop/", "../x", "shop/../../etc", "shop/..",
                          "shop/.", "./orders", "a/b/c", "shop/.hidden", "shop/or ders",
                          "shop/or\\ders", "-x/y", "x/-y", "shop/\xc3\xa9"}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(store->Save(key, Creds("id", "pw-escape-1")).code(),
              base::StatusCode::kInvalidArgument);
    EXPECT_EQ(store->Load(key).status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_FALSE(store->PathFor(key).ok());
  }
  EXPECT_TRUE(Names(root_).empty());
  EXPECT_EQ(Names(dir_.path()), std::set<std::string>{"creds"});
  const std::string long_part(254, 'a');
  EXPECT_FALSE(store->PathFor("shop/" + long_part).ok());
  EXPECT_TRUE(store->PathFor("shop/" + long_part.substr(1)).ok());
  EXPECT_TRUE(store->PathFor("my-ns.v2/name_1.x").ok());
}

TEST_F(FileCredentialStoreTest, DamagedFileIsDataLossWithoutThePassword) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-damaged-99")).ok());
  const std::string path = root_ + "/shop/orders.json";
  const std::string good = ReadRaw(path);
  WriteRaw(path, good.substr(0, good.find("pw-damaged") + 5));
  auto c = store->Load("shop/orders");
  EXPECT_EQ(c.status().code(), base::StatusCode::kDataLoss);
  EXPECT_THAT(c.status().message(), HasSubstr(path));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("pw-d")));
  // A file for another key (copied by hand) is not returned.
  WriteRaw(path, Bytes("shop/elsewhere", Creds("id1", "pw-damaged-99"), clock_.SystemNow()));
  EXPECT_EQ(store->Load("shop/orders").status().code(), base::StatusCode::kDataLoss);
}

TEST_F(FileCredentialStoreTest, FailedSaveKeepsTheOldFile) {
  FaultInjectingFileSystem fs;
  auto store = MustOpen(&fs);
  ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-old-0001")).ok());
  const std::string before = ReadRaw(root_ + "/shop/orders.json");
  for (const char* op : {"create", "append", "sync", "close", "rename"}) {
    SCOPED_TRACE(op);
    fs.Reset();
    fs.FailOp(op, ENOSPC);
    base::Status s = store->Save("shop/orders", Creds("id2", "pw-new-0002"));
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr("saving the credentials of shop/orders"));
    EXPECT_THAT(s.message(), HasSubstr("ENOSPC"));
    EXPECT_THAT(s.message(), Not(HasSubstr("pw-new")));
    EXPECT_EQ(ReadRaw(root_ + "/shop/orders.json"), before);
    EXPECT_EQ(Names(root_ + "/shop"), std::set<std::string>{"orders.json"});
  }
  fs.Reset();
  fs.FailOp("mkdir", EACCES);
  EXPECT_EQ(store->Save("other/x", Creds("id3", "pw-x-0003")).code(),
            base::StatusCode::kPermissionDenied);
}

TEST_F(FileCredentialStoreTest, OpenPromotesACompleteTempFileNewerThanTheFile) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-old-0001")).ok());
  }
  clock_.Advance(std::chrono::seconds(1));
  WriteRaw(root_ + "/shop/.orders.json.tmp.77.1",
           Bytes("shop/orders", Creds("id2", "pw-new-0002"), clock_.SystemNow()));
  WriteRaw(root_ + "/shop/.fresh.json.tmp.77.2",
           Bytes("shop/fresh", Creds("id3", "pw-fresh-03"), clock_.SystemNow()));
  ::chmod((root_ + "/shop/.fresh.json.tmp.77.2").c_str(), 0600);  // as Save creates them
  auto store = MustOpen();
  EXPECT_EQ(store->Load("shop/orders")->instance_id, "id2");
  EXPECT_EQ(store->Load("shop/fresh")->instance_id, "id3");
  EXPECT_EQ(Names(root_ + "/shop"), (std::set<std::string>{"orders.json", "fresh.json"}));
  EXPECT_EQ(ModeOf(root_ + "/shop/fresh.json"), 0600);
}

TEST_F(FileCredentialStoreTest, OpenDeletesIncompleteOrOlderTempFiles) {
  clock_.Advance(std::chrono::seconds(10));
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-cur-0001")).ok());
  }
  const std::string full = Bytes("shop/orders", Creds("id0", "pw-older-00"),
                                 clock_.SystemNow() - std::chrono::seconds(5));
  WriteRaw(root_ + "/shop/.orders.json.tmp.77.1", full);                // older
  WriteRaw(root_ + "/shop/.orders.json.tmp.77.2", full.substr(0, 40));  // torn
  WriteRaw(root_ + "/shop/.gone.json.tmp.77.3", "");                    // empty
  WriteRaw(root_ + "/shop/.wrong.json.tmp.77.4",                        // other key inside
           Bytes("shop/orders", Creds("id5", "pw-wrong-05"), clock_.SystemNow()));
  auto store = MustOpen();
  EXPECT_EQ(store->Load("shop/orders")->instance_id, "id1");
  EXPECT_EQ(Names(root_ + "/shop"), std::set<std::string>{"orders.json"});
}

TEST_F(FileCredentialStoreTest, SaveRemovesOlderTempFilesOfTheSameKey) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/orders", Creds("id1", "pw-1-000001")).ok());
  WriteRaw(root_ + "/shop/.orders.json.tmp.77.1", "{");
  WriteRaw(root_ + "/shop/.other.json.tmp.77.1", "{");
  ASSERT_TRUE(store->Save("shop/orders", Creds("id2", "pw-2-000002")).ok());
  EXPECT_EQ(Names(root_ + "/shop"), (std::set<std::string>{"orders.json", ".other.json.tmp.77.1"}));
}

}  // namespace
}  // namespace aura::store

namespace aura::store {
namespace {

// ---- records by instance id ----

class CredentialsByIdTest : public FileCredentialStoreTest {};

TEST_F(CredentialsByIdTest, AnotherInstancesPasswordNeverReplacesAnEarlierOne) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/orders", Creds("prod0001", "pw-production")).ok());
  clock_.Advance(std::chrono::seconds(10));
  // The key's instance is replaced (a state folder pointed at another API, a re-creation).
  ASSERT_TRUE(store->Save("shop/orders", Creds("new00002", "pw-replacement")).ok());
  EXPECT_EQ(store->Load("shop/orders")->password, "pw-replacement");
  auto old = store->LoadInstance("prod0001");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->password, "pw-production");
  EXPECT_EQ(old->key, "shop/orders");
  EXPECT_EQ(ModeOf(root_ + "/by_id/prod0001.json"), 0600);
  auto history = store->History("shop/orders");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].instance_id, "new00002");  // current first
  EXPECT_EQ((*history)[1].instance_id, "prod0001");
  // The same instance saved again with another password keeps the first (and says so).
  base::Status s = store->Save("shop/other", Creds("prod0001", "pw-impostor"));
  EXPECT_EQ(s.code(), base::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->LoadInstance("prod0001")->password, "pw-production");
}

TEST_F(CredentialsByIdTest, ARenamedSpecLinksTheRecordOfItsInstance) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/reco", Creds("abcd0001", "pw-reco")).ok());
  EXPECT_EQ(store->Load("shop/recommend").status().code(), base::StatusCode::kNotFound);
  ASSERT_TRUE(store->Link("shop/recommend", "abcd0001").ok());
  auto c = store->Load("shop/recommend");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->password, "pw-reco");
  EXPECT_EQ(store->Link("shop/x", "nope0000").code(), base::StatusCode::kNotFound);
  EXPECT_EQ(store->LoadInstance("../etc").status().code(), base::StatusCode::kInvalidArgument);
}

TEST_F(CredentialsByIdTest, AStoreFromBeforeRecordsByIdIsMigratedOnOpen) {
  // A key file as older releases wrote it, with nothing in by_id/.
  std::filesystem::create_directories(root_ + "/shop");
  WriteRaw(root_ + "/shop/orders.json",
           Bytes("shop/orders", Creds("old00001", "pw-old-release"), clock_.SystemNow()));
  ::chmod((root_ + "/shop/orders.json").c_str(), 0600);
  auto store = MustOpen();
  auto c = store->LoadInstance("old00001");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->password, "pw-old-release");
  // Replacing it now keeps it.
  ASSERT_TRUE(store->Save("shop/orders", Creds("new00001", "pw-new")).ok());
  EXPECT_EQ(store->LoadInstance("old00001")->password, "pw-old-release");
}

TEST_F(CredentialsByIdTest, APasswordWithoutItsIdWaitsInTheKeyFileOnly) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Save("shop/orders", Creds("", "pw-pending")).ok());
  EXPECT_EQ(store->Load("shop/orders")->password, "pw-pending");
  EXPECT_FALSE(Exists(root_ + "/by_id/.json"));
  ASSERT_TRUE(store->Save("shop/orders", Creds("late0001", "pw-pending")).ok());
  EXPECT_EQ(store->LoadInstance("late0001")->password, "pw-pending");
}

}  // namespace
}  // namespace aura::store
