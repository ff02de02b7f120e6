#include "pkg/base/atom.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

namespace aura::base {
namespace {

TEST(AtomTest, ReadsComparesAndPrintsAsItsString) {
  const std::string text = "europe-west1-" + std::to_string(7);  // longer than 15: not inline
  Atom a(text);
  Atom b = std::string("europe-west1-7");
  EXPECT_EQ(a, b);
  EXPECT_EQ(&a.str(), &b.str());  // one copy of the value
  EXPECT_EQ(a, text);
  EXPECT_EQ(a, "europe-west1-7");
  EXPECT_EQ(a, std::string_view("europe-west1-7"));
  EXPECT_NE(a, Atom("europe-west1-8"));
  EXPECT_LT(Atom("aws"), Atom("gcp"));
  EXPECT_LT(Atom("aws"), std::string("azure"));
  EXPECT_EQ(a + "/x", "europe-west1-7/x");
  EXPECT_EQ("x/" + a, "x/europe-west1-7");
  EXPECT_EQ(a.size(), 14u);
  const std::string& ref = a;
  EXPECT_EQ(ref, text);
  std::ostringstream out;
  out << a;
  EXPECT_EQ(out.str(), text);
  std::map<std::string, int> m{{text, 1}};
  EXPECT_EQ(m.count(a), 1u);
}

TEST(AtomTest, DefaultAndEmptyAreTheSame) {
  Atom none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none, Atom(""));
  EXPECT_EQ(none, "");
  const std::size_t before = Atom::Count();
  Atom again(std::string{});
  EXPECT_EQ(Atom::Count(), before);  // the empty value is never interned
}

TEST(AtomTest, EachValueIsKeptOnce) {
  const std::size_t before = Atom::Count();
  for (int i = 0; i < 1000; ++i) Atom a("atom-test-" + std::to_string(i % 10));
  EXPECT_EQ(Atom::Count(), before + 10);
}

TEST(AtomTest, ReadsAndWritesJsonAsAString) {
  nlohmann::json j = {{"region", Atom("us-east-1")}};
  EXPECT_EQ(j.dump(), R"({"region":"us-east-1"})");
  Atom back = j["region"].get<Atom>();
  EXPECT_EQ(back, "us-east-1");
  EXPECT_THROW((void)nlohmann::json(5).get<Atom>(), nlohmann::json::exception);
}

TEST(AtomTest, ThreadsInterningTheSameValuesShareThem) {
  std::vector<const std::string*> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &seen] {
      for (int i = 0; i < 2000; ++i) Atom a("atom-thread-" + std::to_string(i % 50));
      seen[t] = &Atom("atom-thread-7").str();
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
}

}  // namespace
}  // namespace aura::base
