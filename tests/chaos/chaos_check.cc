#include "tests/chaos/chaos_check.h"

#include <sstream>

namespace aura::chaos {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

bool StartsWith(const std::string& s, std::string_view prefix) { return s.starts_with(prefix); }

}  // namespace

LogFacts ParseControllerLog(const std::string& text) {
  LogFacts f;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    const std::string msg = Str(j, "msg");
    const std::string key = Str(j, "key");
    if (Str(j, "level") == "error") ++f.errors;
    if (msg == "aura-controller running") f.metrics_port = static_cast<int>(Int(j, "metrics_port"));
    if (StartsWith(msg, "DUPLICATE instances")) ++f.duplicate_alarms;
    if (msg == "instance creation accepted") f.received_ids.insert(Str(j, "instance_id"));
    if (Str(j, "action") != "create") continue;
    std::string outcome;
    if (StartsWith(msg, "create intent recorded")) {
      ++f.intents;
      f.pending_keys.insert(key);
    } else if (msg == "instance created") {
      outcome = "accepted";
      if (j.value("credentials_saved", false)) f.saved_ids.insert(Str(j, "instance_id"));
    } else if (StartsWith(msg, "journal write after create failed")) {
      outcome = "journal_failed";
    } else if (msg == "create refused") {
      outcome = "refused";
    } else if (StartsWith(msg, "create outcome unknown")) {
      outcome = "ambiguous";
    }
    if (!outcome.empty()) {
      ++f.outcomes[outcome];
      f.pending_keys.erase(key);
    }
  }
  return f;
}

Verdict Check(const Evidence& e) {
  Verdict v;
  auto fail = [&](const std::string& what) { v.violations.push_back(what); };
  const std::set<std::string> names(e.names.begin(), e.names.end());
  auto key_of = [&](const std::string& name) { return e.ns + "/" + name; };

  // 1. Exactly one creation per spec name, nothing else created, nothing deleted.
  std::map<std::string, std::vector<json>> by_name;
  const json instances = e.sim_instances.value("instances", json::array());
  for (const json& i : instances) {
    ++v.instances;
    const std::string id = Str(i, "id");
    const std::string name = Str(i, "created_name");
    by_name[name].push_back(i);
    if (!names.count(name)) fail("instance " + id + " named \"" + name + "\" matches no spec");
    if (Str(i, "created_by") != e.client_id) {
      fail("instance " + id + " created by \"" + Str(i, "created_by") + "\"");
    }
    if (i.value("deleted", false)) fail("instance " + id + " (" + name + ") was deleted");
  }
  for (const std::string& name : e.names) {
    const auto& list = by_name[name];
    if (list.empty()) fail("spec " + key_of(name) + ": no instance was created");
    if (list.size() > 1) {
      v.extra_creations += static_cast<int>(list.size()) - 1;
      std::string ids;
      for (const json& i : list)
        ids += " " + Str(i, "id") + "@" + std::to_string(Int(i, "created_ms"));
      fail("DUPLICATE: spec " + key_of(name) + " created " + std::to_string(list.size()) +
           " times:" + ids);
    }
  }

  // 2. Every live instance owned by its spec's journal entry, nothing pending.
  const json entries = e.journal.value("entries", json::object());
  std::map<std::string, std::string> owner_of;  // instance id -> key
  for (const auto& [key, entry] : entries.items()) {
    const std::string id = Str(entry, "instance_id");
    if (!id.empty()) owner_of[id] = key;
    for (const json& d : entry.value("duplicate_ids", json::array())) {
      owner_of[d.get<std::string>()] = key;
      fail("journal " + key + " records duplicate " + d.get<std::string>());
    }
    if (entry.contains("intent")) fail("journal " + key + " still has a create intent");
    if (Str(entry, "origin") != "created") {
      fail("journal " + key + " origin is \"" + Str(entry, "origin") + "\", not \"created\"");
    }
    bool known = false;
    for (const std::string& n : e.names) known = known || key_of(n) == key;
    if (!known) fail("journal entry " + key + " matches no spec");
  }
  for (const std::string& name : e.names) {
    const std::string key = key_of(name);
    if (!entries.contains(key)) {
      fail("journal has no entry for " + key);
      continue;
    }
    const auto& list = by_name[name];
    const std::string recorded = Str(entries[key], "instance_id");
    if (list.size() == 1 && recorded != Str(list[0], "id")) {
      fail("journal " + key + " records \"" + recorded + "\" but the instance is " +
           Str(list[0], "id"));
    }
  }
  for (const json& i : instances) {
    if (i.value("deleted", false) || owner_of.count(Str(i, "id"))) continue;
    ++v.unowned;
    fail("UNOWNED: instance " + Str(i, "id") + " (" + Str(i, "created_name") +
         ") is in no journal entry");
  }

  // 3. Passwords: every one the controller received is in the credentials folder.
  for (const auto& [key, c] : e.credentials) {
    bool known = false;
    for (const std::string& n : e.names) known = known || key_of(n) == key;
    if (!known) fail("credentials file for unknown key " + key);
  }
  auto cred = [&](const std::string& key) {
    auto it = e.credentials.find(key);
    return it == e.credentials.end() ? json::object() : it->second;
  };
  for (const json& i : instances) {
    const std::string id = Str(i, "id");
    const std::string key = key_of(Str(i, "created_name"));
    const std::string code = Str(i, "create_response_code");
    const int64_t delay = Int(i, "create_response_delay_ms");
    const std::string password = Str(i, "password");
    const json c = cred(key);
    const bool holds_id = Str(c, "instance_id") == id;
    const bool saved = holds_id && !password.empty() && Str(c, "password") == password;
    // A 202 whose body holds the whole password (even cut short after it, or without an id)
    // carried it to a client that reads id and password first; one over the size limit did not.
    const bool unreadable = !i.value("create_response_password", false) ||
                            Int(i, "create_response_bytes") > e.max_body_bytes;
    if (code != "202" || delay >= e.request_timeout_ms || unreadable) {
      ++v.unsent[code != "202" ? code : delay >= e.request_timeout_ms ? "late" : "unreadable"];
      if (saved) fail("the password of " + id + " was never sent (" + code + ") yet it is saved");
      continue;
    }
    ++v.passwords_sent;
    if (saved) {
      ++v.passwords_saved;
      continue;
    }
    if (holds_id) {
      fail("LOST PASSWORD: the credentials of " + key + " hold another password for " + id);
      continue;
    }
    if (e.saved_ids.count(id)) {
      fail("LOST PASSWORD: the controller logged the credentials of " + id + " (" + key +
           ") as saved, but the folder does not hold them");
      continue;
    }
    const int64_t from = Int(i, "created_ms") - e.kill_grace_ms;
    const int64_t to = Int(i, "created_ms") + delay + e.kill_grace_ms;
    bool killed = false;
    for (const auto& k : e.kills) {
      killed = killed || (k.ms >= from && k.ms <= to && k.pending_keys.count(key));
    }
    if (killed) {
      ++v.passwords_lost_to_kills;
      v.lost_after_receipt += static_cast<int>(e.received_ids.count(id));
    } else {
      ++v.passwords_lost;
      fail("LOST PASSWORD: the 202 for " + id + " (" + key + ") was sent at " +
           std::to_string(Int(i, "created_ms")) +
           " and no kill interrupted that create, but the credentials folder does not hold it");
    }
  }

  for (const auto& k : e.kills) {
    bool after_commit = false;
    for (const std::string& key : k.pending_keys) {
      const std::string name = key.substr(key.find('/') + 1);
      for (const json& i : by_name[name])
        after_commit = after_commit || Int(i, "created_ms") <= k.ms;
    }
    v.kills_after_commit += after_commit;
  }

  // 4. The journal's credentials_saved tells the truth (status shows it to people).
  for (const auto& [key, entry] : entries.items()) {
    const std::string id = Str(entry, "instance_id");
    const bool file = !id.empty() && Str(cred(key), "instance_id") == id;
    if (entry.value("credentials_saved", false) != file) {
      fail("journal " + key + " says credentials_saved=" +
           (entry.value("credentials_saved", false) ? "true" : "false") +
           " but the credentials folder " + (file ? "holds" : "does not hold") + " them");
    }
  }
  return v;
}

}  // namespace aura::chaos
