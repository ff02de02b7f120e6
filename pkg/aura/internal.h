// Helpers shared by the token source and the client; not part of pkg/aura's interface.
//
// Thread-safety: StopLink is owned by one call; the functions are pure.
#pragma once

#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace aura::api::internal {

// A stop_token that fires when either of two others does (a call's own and its owner's Stop()).
class StopLink {
 public:
  StopLink(std::stop_token a, std::stop_token b)
      : on_a_(std::move(a), Fire{&source_}), on_b_(std::move(b), Fire{&source_}) {}
  std::stop_token token() const { return source_.get_token(); }

 private:
  struct Fire {
    std::stop_source* s;
    void operator()() const { s->request_stop(); }
  };
  std::stop_source source_;  // declared first: the callbacks below refer to it
  std::stop_callback<Fire> on_a_;
  std::stop_callback<Fire> on_b_;
};

}  // namespace aura::api::internal
