// Priority classes of the shared rate limiter (DESIGN.md "Rate limiting and backoff").
#pragma once

namespace aura::ratelimit {

// When the budget is short, capacity goes to lower values first; FIFO within a class.
enum class Priority {
  kWrite = 0,  // writes the user asked for (POST, PATCH, DELETE, pause, resume) and token fetches
  kPoll = 1,   // LIST and polls of operations in flight
  kDrift = 2,  // periodic drift checks (detail GETs of stable instances)
};

}  // namespace aura::ratelimit
