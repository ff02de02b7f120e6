#include "pkg/base/status.h"

#include <gtest/gtest.h>

namespace aura::base {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CarriesApiDetailsInToString) {
  Status s = InvalidArgumentError("memory not allowed");
  s.SetHttpStatus(400).SetReason("invalid-memory").SetField("memory").SetRequestId("abc/123");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(),
            "INVALID_ARGUMENT: memory not allowed (http 400, reason invalid-memory, field memory, "
            "request-id abc/123)");
}

TEST(StatusTest, WithContextKeepsCodeAndDetails) {
  Status s = UnavailableError("connection refused");
  s.SetRequestId("r1");
  Status c = s.WithContext("GET /v1/instances");
  EXPECT_EQ(c.code(), StatusCode::kUnavailable);
  EXPECT_EQ(c.message(), "GET /v1/instances: connection refused");
  EXPECT_EQ(c.request_id(), "r1");
}

TEST(StatusTest, RetryablePredicateFollowsCodes) {
  EXPECT_TRUE(UnavailableError("x").IsRetryable());
  EXPECT_TRUE(ThrottledError("x").IsRetryable());
  EXPECT_TRUE(ConflictError("x").IsRetryable());
  EXPECT_FALSE(AmbiguousError("x").IsRetryable());
  EXPECT_FALSE(InvalidArgumentError("x").IsRetryable());
  EXPECT_FALSE(DataLossError("x").IsRetryable());
}

TEST(StatusTest, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    EXPECT_NE(StatusCodeName(static_cast<StatusCode>(c)), "UNKNOWN") << c;
  }
}

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  AURA_ASSIGN_OR_RETURN(*out, Half(x));
  AURA_RETURN_IF_ERROR(Status());
  return Status();
}

TEST(StatusOrTest, ValueAndErrorPaths) {
  StatusOr<int> a = Half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  StatusOr<int> b = Half(3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  int out = -1;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseHalf(7, &out).code(), StatusCode::kInvalidArgument);
}

TEST(StatusOrTest, MovesValueOut) {
  StatusOr<std::string> s(std::string("hello"));
  std::string v = std::move(s).value();
  EXPECT_EQ(v, "hello");
}

}  // namespace
}  // namespace aura::base
