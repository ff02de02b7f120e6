// The oracle of the chaos test (tests/chaos/chaos_test.cc): what must hold after a scenario in
// which aura-controller was SIGKILLed at random moments while aura-simulator failed committed
// creates, judged from evidence only (the simulator's admin view, the journal file, the
// credentials folder, the controller's logs and the kill times), never from the controller's
// own opinion of itself.
//
// The rules (DESIGN.md "Exactly-once create"):
//  - every spec's Aura name was created exactly once, and nothing else was created;
//  - every live instance is owned: the journal entry of its spec records it, with no pending
//    intent, no duplicates, origin "created";
//  - every password the controller received is in the credentials folder. The simulator says
//    how each create was answered: a "500", a dropped connection or a 202 sent after the
//    controller's request timeout reached nobody. A prompt 202 did, unless the controller was
//    killed between the commit and saving it: a kill between the commit and the response (give
//    or take `kill_grace_ms`), of a process whose log shows that create's intent without an
//    outcome. That loss is inherent (the password existed only in the dead process's memory)
//    and is counted, not failed, unless a log line says the controller had saved it.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace aura::chaos {

// What one controller process's JSON-lines log says about its creates.
struct LogFacts {
  int intents = 0;                      // "create intent recorded; sending POST /instances"
  std::set<std::string> pending_keys;   // intent recorded, no outcome logged (at the end)
  std::set<std::string> saved_ids;      // "instance created" with credentials_saved: true
  std::set<std::string> received_ids;   // the client\'s "instance creation accepted": the 202
                                        // carrying the password was read
  std::map<std::string, int> outcomes;  // accepted, refused, ambiguous, journal_failed
  int errors = 0;                       // lines at level "error"
  int duplicate_alarms = 0;             // "DUPLICATE instances ..." lines
  int metrics_port = 0;                 // from "aura-controller running", 0 if not logged
};

// Parses a log file's content; lines that are not JSON (a line cut by SIGKILL) are skipped.
LogFacts ParseControllerLog(const std::string& text);

struct Evidence {
  std::string ns;                                     // the specs' namespace
  std::vector<std::string> names;                     // metadata.name of every spec (== Aura name)
  std::string client_id;                              // the controller's API client
  nlohmann::json sim_instances;                       // GET /_sim/instances
  nlohmann::json journal;                             // the journal file, parsed
  std::map<std::string, nlohmann::json> credentials;  // key -> credentials file, parsed
  struct Kill {
    int64_t ms = 0;                      // wall clock of the SIGKILL
    std::set<std::string> pending_keys;  // creates in flight then (LogFacts::pending_keys)
  };
  std::vector<Kill> kills;
  std::set<std::string> saved_ids;     // union of LogFacts::saved_ids
  std::set<std::string> received_ids;  // union of LogFacts::received_ids
  int64_t request_timeout_ms = 0;      // the controller's --request-timeout
  // The client's response body limit (http::Transport): a bigger 202 is unreadable.
  int64_t max_body_bytes = int64_t{16} << 20;
  // A kill interrupts a create from `kill_grace_ms` before its commit (the request still on
  // its way) to `kill_grace_ms` after its response was sent (reading it, saving the password).
  int64_t kill_grace_ms = 2000;
};

struct Verdict {
  std::vector<std::string> violations;  // empty: the scenario passed
  int instances = 0;                    // every instance the simulator ever created
  int extra_creations = 0;              // creations beyond one per spec name (duplicates)
  int unowned = 0;                      // live instances no journal entry records
  int passwords_sent = 0;               // prompt 202s
  int passwords_saved = 0;              // ... found in the credentials folder
  int passwords_lost_to_kills = 0;      // ... missing, with a kill right after the response
  int lost_after_receipt = 0;           //     of which the controller had read the 202
  int passwords_lost = 0;               // ... missing with no kill to explain it (violation)
  std::map<std::string, int> unsent;    // responses that carried no password to the client:
                                        // "500", "dropped", "late" (202 after the timeout),
                                        // "unreadable" (a 202 body without the whole
                                        // password in it, or over max_body_bytes)
  int kills_after_commit = 0;           // kills with a create in flight that Aura had already
                                        // committed: the window exactly-once is about

  bool ok() const { return violations.empty(); }
};

Verdict Check(const Evidence& e);

}  // namespace aura::chaos
