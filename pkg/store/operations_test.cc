#include "pkg/store/operations.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pkg/store/test_util.h"

namespace aura::store {
namespace {

OperationRecord Restore(const std::string& key) {
  OperationRecord r;
  r.key = key;
  r.instance_id = "id-" + key.substr(key.find('/') + 1);
  r.operation = "restore";
  r.detail = "to snapshot s1";
  r.started = base::SystemTime(std::chrono::seconds(1798761600));
  r.until = r.started + std::chrono::minutes(30);
  return r;
}

TEST(OperationLogTest, RecordsListAndClearsOneFilePerKey) {
  testutil::ScratchDir tmp;
  const std::string dir = OperationsDirOf(tmp.path() + "/journal.json");
  EXPECT_EQ(dir, tmp.path() + "/journal.operations");
  FileOperationLog log(dir);
  auto empty = log.List();
  ASSERT_TRUE(empty.ok()) << empty.status();  // no folder yet: no record
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(log.Record(Restore("shop/orders")).ok());
  OperationRecord o = Restore("shop/users");
  o.operation = "overwrite";
  ASSERT_TRUE(log.Record(o).ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/shop.orders.json"));
  EXPECT_EQ(testutil::ModeOf(dir + "/shop.orders.json"), 0600);
  // Something else in the folder is skipped, not an error.
  testutil::WriteRaw(dir + "/notes.json", "not a record");
  auto all = log.List();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  for (const OperationRecord& r : *all) {
    EXPECT_EQ(r, r.key == "shop/orders" ? Restore("shop/orders") : o);
  }
  ASSERT_TRUE(log.Clear("shop/orders").ok());
  ASSERT_TRUE(log.Clear("shop/orders").ok());  // already gone
  all = log.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().key, "shop/users");
}

TEST(OperationLogTest, DecodeRefusesRecordsMissingWhatTheControllerNeeds) {
  EXPECT_TRUE(DecodeOperation(EncodeOperation(Restore("a/b"))).ok());
  EXPECT_FALSE(DecodeOperation("[]").ok());
  EXPECT_FALSE(DecodeOperation(R"({"key":"a/b","instance_id":"i","operation":"restore"})").ok());
  EXPECT_FALSE(DecodeOperation(R"({"key":"a/b","instance_id":"i","operation":"restore",
      "started":"yesterday","until":"2027-01-01T00:00:00Z"})")
                   .ok());
}

}  // namespace
}  // namespace aura::store
