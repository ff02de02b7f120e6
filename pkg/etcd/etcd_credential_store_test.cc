// EtcdCredentialStore on a FakeEtcd: sealed at rest, fenced saves, the deposed leader's
// fill-an-empty-slot-only exception, wrong keys, read-only mode.
#include "pkg/etcd/etcd_credential_store.h"

#include <gtest/gtest.h>

#include "pkg/base/base64.h"

#include "pkg/etcd/fake_etcd.h"

namespace aura::etcd {
namespace {

using base::StatusCode;

constexpr char kLeader[] = "/aura/leader";

class EtcdCredentialStoreTest : public ::testing::Test {
 protected:
  EtcdCredentialStoreTest() : etcd_(&clock_) {}

  LeaderFence Lead(const std::string& who) {
    auto lease = etcd_.LeaseGrant(std::chrono::seconds(10));
    auto txn = etcd_.Txn({EtcdCompare::CreateRevision(kLeader, 0)},
                         {EtcdOp::Put(kLeader, who, lease->id)}, {});
    EXPECT_TRUE(txn.ok() && txn->succeeded);
    return LeaderFence{kLeader, txn->revision, lease->id, nullptr};
  }

  std::unique_ptr<EtcdCredentialStore> Open(std::optional<LeaderFence> fence,
                                            std::vector<store::SealingKey> keys = {}) {
    EtcdCredentialStoreOptions o;
    o.etcd = &etcd_;
    o.clock = &clock_;
    o.prefix = "/aura";
    o.keys = keys.empty() ? std::vector<store::SealingKey>{key_} : keys;
    o.fence = std::move(fence);
    auto s = EtcdCredentialStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(s).value();
  }

  static store::Credentials Creds(const std::string& id, const std::string& password) {
    return store::Credentials{id, "neo4j+s://" + id + ".databases.neo4j.io", "neo4j", password};
  }

  base::FakeClock clock_;
  FakeEtcd etcd_;
  store::SealingKey key_ = *store::ParseSealingKey(base::Base64Encode(std::string(32, 'k')));
};

TEST_F(EtcdCredentialStoreTest, SavedSealedAndLoadedBack) {
  auto s = Open(Lead("a"));
  ASSERT_TRUE(s->Save("shop/orders", Creds("id1", "pw-secret-1")).ok());
  auto kv = etcd_.Peek("/aura/credentials/shop/orders");
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value.find("pw-secret-1"), std::string::npos);
  EXPECT_NE(kv->value.find("AES-256-GCM"), std::string::npos);
  // Any process with the key reads it, leader or not.
  auto loaded = Open(std::nullopt)->Load("shop/orders");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->password, "pw-secret-1");
  EXPECT_EQ(loaded->instance_id, "id1");
  EXPECT_EQ(loaded->username, "neo4j");
  EXPECT_EQ(s->Load("shop/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Save("../etc", Creds("x", "y")).code(), StatusCode::kInvalidArgument);
}

TEST_F(EtcdCredentialStoreTest, WrongKeyAndMovedValuesDoNotOpen) {
  auto s = Open(Lead("a"));
  ASSERT_TRUE(s->Save("shop/orders", Creds("id1", "pw-1")).ok());
  const store::SealingKey other = *store::ParseSealingKey(base::Base64Encode(std::string(32, 'o')));
  auto r = Open(std::nullopt, {other})->Load("shop/orders");
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find(key_.id), std::string::npos);
  // A value copied to another spec's key fails authentication.
  ASSERT_TRUE(etcd_
                  .Put("/aura/credentials/shop/other",
                       etcd_.Peek("/aura/credentials/shop/orders")->value, 0)
                  .ok());
  EXPECT_EQ(s->Load("shop/other").status().code(), StatusCode::kDataLoss);
}

TEST_F(EtcdCredentialStoreTest, SavesAreFencedButADeposedLeaderMayFillAnEmptySlot) {
  const LeaderFence a_term = Lead("a");
  auto a = Open(a_term);
  ASSERT_TRUE(a->Save("shop/kept", Creds("id1", "pw-a")).ok());
  etcd_.ExpireLease(a_term.lease);
  auto b = Open(Lead("b"));
  ASSERT_TRUE(b->Save("shop/kept", Creds("id2", "pw-b")).ok());

  // a (deposed) cannot replace a saved value...
  base::Status s = a->Save("shop/kept", Creds("id1", "pw-a-late"));
  EXPECT_TRUE(IsNotLeader(s)) << s;
  EXPECT_EQ(b->Load("shop/kept")->password, "pw-b");
  // ...but the password of a create answered after it lost leadership lands in an empty slot.
  ASSERT_TRUE(a->Save("shop/new", Creds("id3", "pw-late")).ok());
  EXPECT_EQ(b->Load("shop/new")->password, "pw-late");
  EXPECT_EQ(b->Load("shop/new")->instance_id, "id3");
}

TEST_F(EtcdCredentialStoreTest, ReadOnlyAndKeylessStoresRefuse) {
  EXPECT_EQ(Open(std::nullopt)->Save("a/b", Creds("i", "p")).code(),
            StatusCode::kFailedPrecondition);
  EtcdCredentialStoreOptions o;
  o.etcd = &etcd_;
  o.clock = &clock_;
  o.prefix = "/aura";
  auto none = EtcdCredentialStore::Open(o);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("--credentials-key-file"), std::string::npos);
}

}  // namespace
}  // namespace aura::etcd
