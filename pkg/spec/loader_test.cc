// Files and folders: recursion, extensions, hidden entries, symlinks (the Kubernetes ConfigMap
// layout included), reading each real file once, and cross-file rules.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

namespace fs = std::filesystem;
using testing::Doc;
using testing::Dump;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "spec_loader_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }

  std::string Path(const std::string& rel) const { return (fs::path(root_) / rel).string(); }

  void Write(const std::string& rel, const std::string& text) const {
    fs::create_directories(fs::path(Path(rel)).parent_path());
    std::ofstream(Path(rel), std::ios::binary) << text;
  }

  void Symlink(const std::string& target, const std::string& rel) const {
    fs::create_directories(fs::path(Path(rel)).parent_path());
    fs::create_symlink(target, Path(rel));
  }

  std::string root_;
};

TEST_F(LoaderTest, ReadsFoldersRecursivelyInNameOrder) {
  Write("b.yaml", Doc({}, "b"));
  Write("a.yml", Doc({}, "a"));
  Write("sub/deeper/c.YAML", Doc({}, "c"));
  Write("notes.txt", "not: yaml at all: [");
  Write("data.json", "{}");
  const LoadResult r = Load({root_});
  ASSERT_TRUE(r.ok()) << Dump(r);
  ASSERT_EQ(r.specs.size(), 3u);
  EXPECT_EQ(r.specs[0].name, "a");
  EXPECT_EQ(r.specs[1].name, "b");
  EXPECT_EQ(r.specs[2].name, "c");
  EXPECT_EQ(r.specs[2].location.file, Path("sub/deeper/c.YAML"));
  EXPECT_EQ(r.files, 3);
  EXPECT_TRUE(r.complete);
}

TEST_F(LoaderTest, SkipsHiddenEntries) {
  Write(".git/config.yaml", "broken: [");
  Write(".hidden.yaml", "broken: [");
  Write("ok.yaml", Doc());
  const LoadResult r = Load({root_});
  ASSERT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.files, 1);
}

TEST_F(LoaderTest, ReadsAnExplicitFileWhateverItsExtension) {
  Write("spec.txt", Doc());
  const LoadResult r = Load({Path("spec.txt")});
  ASSERT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.specs.size(), 1u);
}

// kubelet's layout: ..<timestamp>/ holds the files, ..data -> ..<timestamp>, and each visible
// name is a symlink through ..data.
TEST_F(LoaderTest, ConfigMapMountReadsEachFileOnceThroughItsVisibleName) {
  const std::string ts = "..2024_05_01_10_00_00.123456789";
  Write(ts + "/orders.yaml", Doc({}, "orders"));
  Write(ts + "/users.yml", Doc({}, "users"));
  Write(ts + "/readme.txt", "hello");
  Symlink(ts, "..data");
  Symlink("..data/orders.yaml", "orders.yaml");
  Symlink("..data/users.yml", "users.yml");
  Symlink("..data/readme.txt", "readme.txt");

  const LoadResult r = Load({root_});
  ASSERT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.files, 2);
  ASSERT_EQ(r.specs.size(), 2u);
  EXPECT_EQ(r.specs[0].location.file, Path("orders.yaml"));
  EXPECT_EQ(r.specs[1].location.file, Path("users.yml"));

  // The same files named again, directly and through ..data: still read once.
  const LoadResult again =
      Load({root_, Path("orders.yaml"), Path("..data"), Path(ts + "/users.yml")});
  ASSERT_TRUE(again.ok()) << Dump(again);
  EXPECT_EQ(again.files, 2);
  EXPECT_EQ(again.specs.size(), 2u);

  // An update: a new timestamped folder, ..data swapped atomically, the old folder removed.
  const std::string ts2 = "..2024_05_01_10_05_00.987654321";
  Write(ts2 + "/orders.yaml", Doc({{"memory", "8GB"}}, "orders"));
  Symlink(ts2, "..data_tmp");
  fs::rename(Path("..data_tmp"), Path("..data"));
  fs::remove_all(Path(ts));
  fs::remove(Path("users.yml"));
  const LoadResult updated = Load({root_});
  ASSERT_TRUE(updated.ok()) << Dump(updated);
  ASSERT_EQ(updated.specs.size(), 1u);
  EXPECT_EQ(updated.specs[0].memory, "8GB");
  EXPECT_EQ(updated.files, 1);
}

TEST_F(LoaderTest, AnExplicitDataFolderIsRead) {
  Write("..2024/orders.yaml", Doc());
  Symlink("..2024", "..data");
  const LoadResult r = Load({Path("..data")});
  ASSERT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.files, 1);
}

TEST_F(LoaderTest, FollowsFolderSymlinksWithoutLooping) {
  Write("real/a.yaml", Doc({}, "a"));
  Symlink("../real", "links/real");
  Symlink("..", "real/loop");
  const LoadResult r = Load({root_});
  ASSERT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.files, 1);
  EXPECT_EQ(r.specs.size(), 1u);
}

TEST_F(LoaderTest, DanglingSymlinkIsAnErrorAndTheLoadIncomplete) {
  Write("ok.yaml", Doc());
  Symlink("..data/gone.yaml", "gone.yaml");
  Symlink("nowhere", "ignored.txt");
  const LoadResult r = Load({root_});
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r);
  EXPECT_EQ(r.errors[0].location.file, Path("gone.yaml"));
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.specs.size(), 1u);
}

TEST_F(LoaderTest, MissingPathIsAnError) {
  const LoadResult r = Load({Path("nope")});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].Format(), Path("nope") + ": cannot read: No such file or directory");
  EXPECT_FALSE(r.complete);
}

TEST_F(LoaderTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(Path("pipe.yaml").c_str(), 0600), 0);
  const LoadResult r = Load({root_});
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r);
  EXPECT_EQ(r.errors[0].message, "found a special file; allowed: regular files");
  EXPECT_FALSE(r.complete);
}

TEST_F(LoaderTest, UnreadableFileIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  Write("secret.yaml", Doc());
  fs::permissions(Path("secret.yaml"), fs::perms::none);
  const LoadResult r = Load({root_});
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r);
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
  EXPECT_FALSE(r.complete);
}

TEST_F(LoaderTest, DuplicatesAcrossFilesNameBothFiles) {
  Write("a.yaml", Doc({}, "orders"));
  Write("b.yaml", "# another copy\n" + Doc({}, "orders"));
  const LoadResult r = Load({root_});
  ASSERT_EQ(r.errors.size(), 2u) << Dump(r);
  EXPECT_EQ(r.errors[0].Format(), Path("a.yaml") + ":4:9: metadata.name: found key " +
                                      "\"shop/orders\" again (also at " + Path("b.yaml") +
                                      ":5:9); allowed: one document per namespace/name");
  EXPECT_EQ(r.errors[1].location.file, Path("b.yaml"));
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"shop/orders"});
  EXPECT_TRUE(r.complete);
}

TEST_F(LoaderTest, FileLargerThanTheLimit) {
  Write("big.yaml", Doc() + "# " + std::string(300, 'x') + "\n");
  LoadOptions options;
  options.max_file_bytes = 300;
  const LoadResult r = Load({Path("big.yaml")}, options);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].location.line, 12);
  EXPECT_EQ(r.errors[0].message,
            "found a file larger than 300 bytes; allowed: at most 300 bytes (max_file_bytes)");
  EXPECT_FALSE(r.complete);
}

TEST_F(LoaderTest, FolderDepthLimit) {
  std::string deep;
  for (int i = 0; i < 5; ++i) deep += "d/";
  Write(deep + "x.yaml", Doc());
  LoadOptions options;
  options.max_directory_depth = 3;
  const LoadResult r = Load({root_}, options);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("(max_directory_depth)"), std::string::npos);
  EXPECT_FALSE(r.complete);
}

TEST_F(LoaderTest, DocumentLimitCountsAllFiles) {
  Write("a.yaml", Doc({}, "a") + "---\n" + Doc({}, "b"));
  Write("b.yaml", Doc({}, "c"));
  LoadOptions options;
  options.max_documents = 2;
  const LoadResult r = Load({root_}, options);
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r);
  EXPECT_EQ(r.errors[0].Format(), Path("b.yaml") +
                                      ":1:1: found more than 2 documents; allowed: at most 2 "
                                      "documents in one load (max_documents)");
  EXPECT_EQ(r.specs.size(), 2u);
  EXPECT_FALSE(r.complete);
}

}  // namespace
}  // namespace aura::spec
