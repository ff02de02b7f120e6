// SpecLoader: a reload reads only the files that changed, and the state its deltas add up to is
// always what Load() of the same paths returns (issue 21, item 4).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

namespace fs = std::filesystem;
using testing::Doc;

class SpecLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "spec_incremental_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string Path(const std::string& rel) const { return (fs::path(root_) / rel).string(); }

  // Writes in place (same inode) and dates the file `age_s` seconds ago, a different second
  // each write, so that the signature changes with every write whatever the clock's tick.
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories(fs::path(Path(rel)).parent_path());
    std::ofstream(Path(rel), std::ios::binary | std::ios::trunc) << text;
    Date(rel, 100000 - ++writes_);
  }

  void Date(const std::string& rel, long age_s) const {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const timespec t{now.tv_sec - age_s, 0};
    const timespec times[2] = {t, t};
    ASSERT_EQ(::utimensat(AT_FDCWD, Path(rel).c_str(), times, 0), 0);
  }

  std::string root_;
  int writes_ = 0;
};

// The state a caller keeps by applying deltas.
struct Applied {
  std::map<std::string, std::shared_ptr<const InstanceSpec>> specs;
  std::map<std::string, std::shared_ptr<const CustomerManagedKeySpec>> keys;
  void Apply(const LoadDelta& d) {
    if (d.full) {
      specs.clear();
      keys.clear();
    }
    for (const auto& s : d.changed_specs) specs[s->key()] = s;
    for (const auto& k : d.removed_specs) specs.erase(k);
    for (const auto& k : d.changed_keys) keys[k->key()] = k;
    for (const auto& k : d.removed_keys) keys.erase(k);
  }
};

std::string Describe(const InstanceSpec& s) {
  std::string out = s.key() + " aura=" + s.aura_name + " tenant=" + s.tenant_id +
                    " memory=" + s.memory + " type=" + s.type + " secret=" + s.connection_secret +
                    " cmk=" + s.customer_managed_key_ref + " at=" + s.location.file + ":" +
                    std::to_string(s.location.line) +
                    " source=" + (s.source ? s.source->instance_key : "");
  for (const auto& [path, at] : s.field_locations) {
    out +=
        " " + std::string(path) + "@" + std::to_string(at.line) + ":" + std::to_string(at.column);
  }
  return out;
}

std::string Describe(const CustomerManagedKeySpec& k) {
  return k.key() + " aura=" + k.aura_name + " type=" + k.instance_type + " at=" + k.location.file +
         ":" + std::to_string(k.location.line);
}

// Everything Load() says, in its order, beside the specs.
template <typename R>
std::string Summary(const R& r) {
  std::string out = "files=" + std::to_string(r.files) +
                    " documents=" + std::to_string(r.documents) +
                    " skipped=" + std::to_string(r.skipped) + " empty=" + std::to_string(r.empty) +
                    " complete=" + std::to_string(r.complete) + "\n";
  for (const auto& e : r.errors) out += e.Format() + " [" + e.key + "]\n";
  for (const auto& k : r.invalid_keys) out += "invalid " + k + "\n";
  return out;
}

void ExpectSame(const Applied& applied, const LoadDelta& delta, const LoadResult& full, int step) {
  SCOPED_TRACE("step " + std::to_string(step));
  EXPECT_EQ(Summary(delta), Summary(full));
  std::map<std::string, std::string> want, got;
  for (const auto& s : full.specs) want[s.key()] = Describe(s);
  for (const auto& [k, s] : applied.specs) got[k] = Describe(*s);
  EXPECT_EQ(got, want);
  std::map<std::string, std::string> want_keys, got_keys;
  for (const auto& k : full.keys) want_keys[k.key()] = Describe(k);
  for (const auto& [k, s] : applied.keys) got_keys[k] = Describe(*s);
  EXPECT_EQ(got_keys, want_keys);
}

// One random document from small pools, so that keys, Aura names, Secrets and references
// collide and resolve often.
std::string RandomDoc(std::mt19937& rng) {
  auto pick = [&rng](const std::vector<std::string>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  const std::string name = pick({"a", "b", "c", "d", "e"});
  switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
    case 0:
    case 1:
    case 2: {
      std::vector<std::pair<std::string, std::string>> o;
      if (rng() % 3 == 0) o.emplace_back("name", pick({"x", "y"}));
      if (rng() % 3 == 0) o.emplace_back("connectionSecret", "{name: " + pick({"s1", "s2"}) + "}");
      if (rng() % 4 == 0) o.emplace_back("source", "{instance: " + pick({"a", "b", "z"}) + "}");
      if (rng() % 6 == 0) o.emplace_back("memory", "3GB");  // invalid
      std::string doc = Doc(o, name);
      // Namespace "cmk": its keys ("cmk/a") must never be taken for a key spec's ("cmk/ns/k1").
      if (rng() % 5 == 0) doc.replace(doc.find("namespace: shop"), 15, "namespace: cmk");
      return doc;
    }
    case 3:
    case 4: {
      std::vector<std::pair<std::string, std::string>> o = {
          {"type", "enterprise-db"}, {"customerManagedKeyRef", pick({"k1", "k2"})}};
      if (rng() % 2 == 0) o.emplace_back("region", "us-east1");
      return Doc(o, name);
    }
    case 5:
    case 6:
      return testing::KeyDoc("", pick({"k1", "k2"}), rng() % 8 == 0 ? "free-db" : "enterprise-db",
                             pick({"Key A", "Key B"}));
    case 7:
      return rng() % 2 ? "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n" : "";
    case 8:
      return "apiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata: {}\nspec: {}\n";
    default:
      return rng() % 2 ? "key: [unclosed\n" : Doc({}, name);
  }
}

TEST_F(SpecLoaderTest, DeltasAlwaysAddUpToWhatLoadReturns) {
  const std::vector<std::string> files = {"f0.yaml", "f1.yaml", "f2.yaml", "sub/f3.yaml"};
  std::mt19937 rng(20261204);
  SpecLoader loader({root_}, {}, std::chrono::nanoseconds(0));
  Applied applied;
  for (int step = 0; step < 1000; ++step) {
    const std::string& f = files[rng() % files.size()];
    switch (rng() % 6) {
      case 0:
        fs::remove(Path(f));
        break;
      case 1:  // nothing changes
        break;
      default: {
        std::string text;
        const int docs = static_cast<int>(rng() % 4);
        for (int i = 0; i < docs; ++i) text += "---\n" + RandomDoc(rng);
        Write(f, text);
      }
    }
    const LoadDelta delta = loader.Reload();
    applied.Apply(delta);
    EXPECT_LE(delta.parsed_files, 1) << "step " << step;  // at most one file changed
    const LoadResult full = Load({root_});
    ExpectSame(applied, delta, full, step);
    if (::testing::Test::HasFailure()) break;
  }
}

TEST_F(SpecLoaderTest, AReloadParsesOnlyTheChangedFileAndReportsOnlyItsSpecs) {
  for (int i = 0; i < 10; ++i) {
    std::string text;
    for (int j = 0; j < 10; ++j) {
      text += "---\n" + Doc({}, "spec-" + std::to_string(i) + "-" + std::to_string(j));
    }
    Write("f" + std::to_string(i) + ".yaml", text);
  }
  SpecLoader loader({root_}, {}, std::chrono::nanoseconds(0));
  LoadDelta first = loader.Reload();
  EXPECT_TRUE(first.full);
  EXPECT_EQ(first.parsed_files, 10);
  EXPECT_EQ(first.changed_specs.size(), 100u);

  LoadDelta same = loader.Reload();
  EXPECT_FALSE(same.full);
  EXPECT_EQ(same.parsed_files, 0);
  EXPECT_TRUE(same.changed_specs.empty());
  EXPECT_TRUE(same.removed_specs.empty());
  EXPECT_EQ(same.documents, 100);

  // f3 loses spec-3-9 and changes spec-3-0's memory. spec-3-1..8 are parsed again but equal
  // to what was published: the published objects stay, and only spec-3-0 is reported.
  std::string text = "---\n" + Doc({{"memory", "8GB"}}, "spec-3-0");
  for (int j = 1; j < 9; ++j) text += "---\n" + Doc({}, "spec-3-" + std::to_string(j));
  Write("f3.yaml", text);
  LoadDelta changed = loader.Reload();
  EXPECT_EQ(changed.parsed_files, 1);
  ASSERT_EQ(changed.changed_specs.size(), 1u);
  EXPECT_EQ(changed.changed_specs[0]->name, "spec-3-0");
  EXPECT_EQ(changed.changed_specs[0]->memory, "8GB");
  EXPECT_EQ(changed.changed_specs[0]->location.file, Path("f3.yaml"));
  ASSERT_EQ(changed.removed_specs.size(), 1u);
  EXPECT_EQ(changed.removed_specs[0], "shop/spec-3-9");

  // Inserting a document above moves the others' lines: each of them is a change.
  Write("f3.yaml", "---\n" + Doc({}, "spec-3-new") + text);
  LoadDelta moved = loader.Reload();
  EXPECT_EQ(moved.changed_specs.size(), 10u);
  EXPECT_TRUE(moved.removed_specs.empty());
}

TEST_F(SpecLoaderTest, ADuplicateInAnotherFileWithdrawsTheSpecAndItsRemovalRestoresIt) {
  Write("a.yaml", Doc({}, "orders"));
  SpecLoader loader({root_}, {}, std::chrono::nanoseconds(0));
  LoadDelta first = loader.Reload();
  ASSERT_EQ(first.changed_specs.size(), 1u);
  const auto original = first.changed_specs[0];

  Write("b.yaml", Doc({{"memory", "8GB"}}, "orders"));
  LoadDelta dup = loader.Reload();
  EXPECT_EQ(dup.parsed_files, 1);
  EXPECT_TRUE(dup.changed_specs.empty());
  ASSERT_EQ(dup.removed_specs.size(), 1u);
  EXPECT_EQ(dup.removed_specs[0], "shop/orders");
  EXPECT_EQ(dup.invalid_keys, std::set<std::string>{"shop/orders"});
  ASSERT_EQ(dup.errors.size(), 2u);  // one at each document, naming the other
  EXPECT_NE(dup.errors[0].message.find(Path("b.yaml")), std::string::npos);

  fs::remove(Path("b.yaml"));
  LoadDelta back = loader.Reload();
  EXPECT_EQ(back.parsed_files, 0);  // a.yaml did not change: its spec comes from the cache
  ASSERT_EQ(back.changed_specs.size(), 1u);
  EXPECT_EQ(back.changed_specs[0], original);
  EXPECT_TRUE(back.errors.empty());
  EXPECT_TRUE(back.invalid_keys.empty());
}

TEST_F(SpecLoaderTest, AFileChangedAtTheTimeItWasReadIsReadAgain) {
  Write("a.yaml", Doc({}, "orders"));
  Date("a.yaml", -3600);  // dated in the future: always within the racy window
  SpecLoader racy({root_});
  EXPECT_EQ(racy.Reload().parsed_files, 1);
  EXPECT_EQ(racy.Reload().parsed_files, 1);  // not trusted: its signature may not move

  // Older than the window (none here: the status-change time cannot be set back): trusted.
  Date("a.yaml", 3600);
  SpecLoader settled({root_}, {}, std::chrono::nanoseconds(0));
  EXPECT_EQ(settled.Reload().parsed_files, 1);
  EXPECT_EQ(settled.Reload().parsed_files, 0);
}

TEST_F(SpecLoaderTest, FullDeltaCarriesAWholeLoadResult) {
  Write("a.yaml", Doc({}, "orders") + "---\n" + Doc({{"memory", "3GB"}}, "bad"));
  LoadDelta d = FullDelta(Load({root_}));
  EXPECT_TRUE(d.full);
  ASSERT_EQ(d.changed_specs.size(), 1u);
  EXPECT_EQ(d.changed_specs[0]->name, "orders");
  EXPECT_EQ(d.invalid_keys, std::set<std::string>{"shop/bad"});
  EXPECT_EQ(d.documents, 2);
}

}  // namespace
}  // namespace aura::spec
