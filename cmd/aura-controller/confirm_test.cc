#include <gtest/gtest.h>

#include "cmd/aura-controller/snapshots.h"

namespace aura::cmd {
namespace {

std::function<bool(std::string*)> Answers(std::optional<std::string> answer, int* asked) {
  return [answer, asked](std::string* line) {
    ++*asked;
    if (!answer) return false;
    *line = *answer;
    return true;
  };
}

TEST(Confirmed, YesSkipsTheQuestion) {
  int asked = 0;
  std::string why;
  EXPECT_TRUE(Confirmed(true, false, "?", Answers("no", &asked), &why));
  EXPECT_EQ(asked, 0);
}

TEST(Confirmed, WithoutATerminalItNeedsYes) {
  int asked = 0;
  std::string why;
  EXPECT_FALSE(Confirmed(false, false, "?", Answers("yes", &asked), &why));
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(why, "refused: not on a terminal and --yes not given");
}

TEST(Confirmed, OnATerminalOnlyYesGoesOn) {
  int asked = 0;
  std::string why;
  EXPECT_TRUE(Confirmed(false, true, "?", Answers("yes", &asked), &why));
  EXPECT_FALSE(Confirmed(false, true, "?", Answers("y", &asked), &why));
  EXPECT_EQ(why, "refused: not confirmed");
  EXPECT_FALSE(Confirmed(false, true, "?", Answers(std::nullopt, &asked), &why));  // end of input
  EXPECT_EQ(asked, 3);
}

}  // namespace
}  // namespace aura::cmd
