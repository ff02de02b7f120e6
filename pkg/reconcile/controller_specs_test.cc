// The controller over real spec files (FileSpecSource): a reload reconciles what changed, not
// every key (issue 21, item 4).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pkg/metrics/metrics.h"
#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/spec_source.h"
#include "pkg/reconcile/testing/fakes.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::reconcile {
namespace {

namespace fs = std::filesystem;
using spec::testing::Doc;

class ControllerSpecFilesTest : public ::testing::Test {
 protected:
  ControllerSpecFilesTest() : api_(&clock_) {
    std::string tmpl = (fs::temp_directory_path() / "controller_specs_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) root_ = tmpl;
    options_.check_configurations = false;
  }
  ~ControllerSpecFilesTest() override {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(root_) / name, std::ios::trunc) << text;
  }

  // Specs shop/a and shop/b in a.yaml and b.yaml, loaded by a controller over the folder, and
  // the queue drained.
  Controller& Start() {
    Write("a.yaml", Doc({}, "a"));
    Write("b.yaml", Doc({}, "b"));
    specs_ = std::make_unique<FileSpecSource>(std::vector<std::string>{root_});
    controller_ = std::make_unique<Controller>(options_, api_, journal_, creds_, *specs_, clock_,
                                               metrics_, log_);
    EXPECT_TRUE(controller_->RefreshSpecs(true));
    EXPECT_EQ(Drain(*controller_), (std::set<std::string>{"shop/a", "shop/b"}));  // all at first
    return *controller_;
  }

  // Every key queued now, the queue left empty.
  std::set<std::string> Drain(Controller& c) {
    std::set<std::string> keys;
    while (auto k = c.queue().TryGet()) {
      keys.insert(*k);
      c.queue().Done(*k);
    }
    return keys;
  }

  base::FakeClock clock_;
  testing::FakeAuraApi api_;
  testing::MemJournal journal_;
  testing::MemCredentialStore creds_;
  metrics::Metrics metrics_;
  base::Logger log_{base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view) {},
                    &clock_};
  ControllerOptions options_;
  std::string root_;
  std::unique_ptr<FileSpecSource> specs_;
  std::unique_ptr<Controller> controller_;  // after specs_: destroyed first
};

TEST_F(ControllerSpecFilesTest, AReloadQueuesOnlyTheKeysThatChanged) {
  ASSERT_FALSE(root_.empty());
  Controller& c = Start();

  Write("b.yaml", Doc({{"memory", "8GB"}}, "b"));
  ASSERT_TRUE(c.RefreshSpecs(true));
  EXPECT_EQ(Drain(c), std::set<std::string>{"shop/b"});

  // Written again with the same content: read again, equal, nothing to reconcile.
  Write("a.yaml", Doc({}, "a"));
  ASSERT_TRUE(c.RefreshSpecs(true));
  EXPECT_TRUE(Drain(c).empty());

  // A spec that becomes invalid (a duplicate key in another file) is reconciled (as invalid),
  // and so is the new document's key; the other spec is not.
  Write("c.yaml", Doc({}, "b"));
  ASSERT_TRUE(c.RefreshSpecs(true));
  EXPECT_EQ(Drain(c), std::set<std::string>{"shop/b"});
  EXPECT_EQ(c.SpecsOfTenant(spec::testing::kTenant).size(), 1u);  // only shop/a is desired

  fs::remove(fs::path(root_) / "c.yaml");
  ASSERT_TRUE(c.RefreshSpecs(true));
  EXPECT_EQ(Drain(c), std::set<std::string>{"shop/b"});
  EXPECT_EQ(c.SpecsOfTenant(spec::testing::kTenant).size(), 2u);
}

TEST_F(ControllerSpecFilesTest, ABrokenFileQueuesEveryKeyWhenLoadsBecomeIncomplete) {
  ASSERT_FALSE(root_.empty());
  Controller& c = Start();

  // b.yaml can no longer be read as YAML: deletions stop being safe, so every key is looked at
  // again (none is deleted: the planner holds them while the load is incomplete).
  Write("b.yaml", "key: [unclosed\n");
  ASSERT_TRUE(c.RefreshSpecs(true));
  EXPECT_EQ(Drain(c), (std::set<std::string>{"shop/a", "shop/b"}));
}

}  // namespace
}  // namespace aura::reconcile
