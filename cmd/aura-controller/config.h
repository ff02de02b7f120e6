// Configuration of aura-controller: flags, then environment, then defaults (DESIGN.md "The
// binary"). The client secret comes only from AURA_CLIENT_SECRET or a credentials file, never
// from a flag (flags show in `ps` and shell history).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pkg/base/status.h"

namespace aura::cmd {

enum class Command {
  kRun,
  kPlan,
  kApply,
  kValidate,
  kStatus,
  kVersion,
  kCredentials,
  kImport,
  kState,  // state migrate
  kTenants,
  kSnapshot,
  kRestore,
  kOverwrite,
  kHelp
};

struct Config {
  Command command = Command::kHelp;
  bool help = false;  // --help for the subcommand
  // Aura API
  std::string api_url = "https://api.neo4j.io/v1";
  std::string token_url = "https://api.neo4j.io/oauth/token";
  std::string client_id;
  std::string client_secret;  // never printed
  std::string credentials_file;
  // Plain http:// to a non-loopback host, per endpoint family (never for anything else).
  bool insecure_http_aura = false;
  bool insecure_http_etcd = false;
  std::chrono::milliseconds request_timeout{30000};
  // Where things live
  std::vector<std::string> specs;
  std::string state = ".aura/journal.json";
  std::string credentials_dir = ".aura/credentials";
  std::string metrics_addr = ":9090";
  // High availability: `--state etcd://host:port[,host:port...]/prefix` (or etcds://)
  std::chrono::milliseconds lease_ttl{15000};      // leader lease, whole seconds
  std::string etcd_ca;                             // PEM CA bundle for etcds://
  std::string etcd_cert;                           // client certificate (mutual TLS)
  std::string etcd_key;                            // its private key
  std::vector<std::string> credentials_key_files;  // the first seals; all may open
  std::string identity;                            // written to the leader key
  // Limits and timing
  int rate_limit = 125;
  bool rate_limit_explicit = false;  // --rate-limit or AURA_RATE_LIMIT given: never learned
  // The access token cache: "" = next to a file journal (journal.token.json; none with etcd),
  // "none" = no cache, or a path.
  std::string token_cache;
  // The wait after a failed token request, doubling per failure up to 60 times this (15 s ->
  // 15 min: 4 an hour; Aura limits token requests to 15 an hour).
  std::chrono::milliseconds token_cooldown{15000};
  std::chrono::milliseconds rate_window{60000};
  int rate_margin = 0;
  std::chrono::milliseconds resync{60000};
  std::chrono::milliseconds settle_window{60000};
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::milliseconds poll_max{60000};
  std::chrono::milliseconds spec_poll{5000};
  double drift_share = 0.3;
  int workers = 4;
  // Connection Secrets in Kubernetes (off unless asked; the in-cluster manifests turn it on)
  bool connection_secrets = false;
  std::string kube_api_url;     // "" = in-cluster (KUBERNETES_SERVICE_HOST/_PORT)
  std::string kube_token_file;  // "" = the service account token, when mounted
  std::string kube_ca_file;     // "" = the service account CA (https only)
  // Safety
  bool allow_delete = false;
  // Use a state made for another account (API URL, client id) and bind it to this one.
  bool rebind_state = false;
  // Leave core dumps and ptrace as the system has them (default: off, they hold secrets).
  bool allow_core_dumps = false;
  int max_deletes = 1;
  // credentials get --all: every record saved for the key, newest first
  bool all = false;
  // state migrate: --to etcd, --etcd etcd[s]://HOST:PORT[,...]/PREFIX (the state to create)
  std::string migrate_to;
  std::string etcd_url;
  // snapshot / restore (snapshots.h)
  std::string snapshot_id;  // --snapshot
  std::string instance_id;  // --instance-id: an Aura id instead of a spec key
  bool yes = false;         // --yes: no confirmation asked
  std::string from;         // overwrite --from: the source spec key
  // apply
  bool wait = false;
  std::chrono::milliseconds timeout{30 * 60 * 1000};
  // Output
  std::string output = "table";  // table | json
  std::string log_level = "info";
  bool log_level_set = false;  // --log-level or AURA_LOG_LEVEL given
  // import
  std::string import_tenant;
  std::string import_namespace = "default";
  std::string import_output_dir;  // "" = the current folder
  // apply --wait says "API unreachable for N s" once no request got an answer for this long.
  std::chrono::milliseconds unreachable_after{30000};
  std::string log_format = "auto";  // auto | json | human
  std::vector<std::string> args;    // positional arguments after the command
};

// Parses argv (after the program name). Errors name the flag and what is allowed.
base::StatusOr<Config> ParseConfig(const std::vector<std::string>& argv);

// Reads client id/secret from a file: "client_id=..."/"client_secret=..." lines, the Aura
// console's "Client ID: ..."/"Client Secret: ..." download, or a single line holding the secret.
base::Status ReadCredentialsFile(const std::string& path, std::string* id, std::string* secret);

// "90", "90s", "1.5s", "250ms", "5m", "1h".
base::StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text);

std::string Usage();                 // the top-level help
std::string CommandHelp(Command c);  // `aura-controller <command> --help`

// A file next to the journal: (journal.json, "status") -> journal.status.json.
std::string SidecarPath(const std::string& state, const std::string& what);
// The status snapshot path next to the journal: journal.json -> journal.status.json.
std::string StatusFilePath(const std::string& state);
// Where the access token is cached ("" for none): --token-cache, or journal.token.json.
std::string TokenCachePath(const Config& c);

// True when --state names etcd (high availability).
bool IsEtcdState(const Config& c);

}  // namespace aura::cmd
