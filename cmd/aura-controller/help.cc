// aura-controller's help texts: the top-level usage and each command's --help.
#include <string>

#include "cmd/aura-controller/config.h"

namespace aura::cmd {

std::string Usage() {
  return R"(aura-controller: keeps a Neo4j Aura account matching AuraInstance specs.

Usage: aura-controller <command> [flags] [SPEC-PATH...]

Commands:
  run        reconcile forever; serves /metrics, /healthz, /readyz on --metrics-addr
  plan       show what would change (read-only); exit 0 none, 2 changes, 1 error
  apply      one reconcile pass; --wait to wait until converged (or --timeout)
  validate   check spec files offline; exit 0 valid, 1 invalid
  status     the journal and last observed state of every spec
  credentials get [NAMESPACE/]NAME [--all]
             print the one-time credentials saved for a spec (--all: every instance's)
  import     --tenant ID: write a spec per existing instance (adoption: IfExists)
  state migrate --to etcd --etcd etcd://HOST:PORT/PREFIX --credentials-key-file KEY
             copy the file journal and credentials into an empty etcd prefix (HA mode)
  tenants [TENANT-ID]
             the tenants (projects) the credentials see and the instance configurations
             each offers: cloud provider, region, type, versions, memory/storage
  snapshot create|list [NAMESPACE/]NAME [--wait]
             take a snapshot of a spec's instance, or list its snapshots
  restore [NAMESPACE/]NAME --snapshot ID [--yes]
             restore the instance to a snapshot, waiting until it runs again
  overwrite [NAMESPACE/]NAME --from [NAMESPACE/]NAME2 [--snapshot ID] [--yes]
             replace an instance's data with another's (clone to existing)
  version    print the version

Run `aura-controller <command> --help` for its flags. Credentials: AURA_CLIENT_ID and
AURA_CLIENT_SECRET, or --credentials-file; the secret is never taken from a flag.
)";
}

std::string CommandHelp(Command c) {
  const std::string api = R"(
Aura API:
  --api-url URL            API base (env AURA_API_URL; default https://api.neo4j.io/v1)
  --token-url URL          OAuth token endpoint (env AURA_TOKEN_URL; default
                           https://api.neo4j.io/oauth/token)
  --client-id ID           (env AURA_CLIENT_ID); the secret: env AURA_CLIENT_SECRET or
  --credentials-file FILE  (env AURA_CREDENTIALS_FILE) client_id=/client_secret= lines, or
                           the Aura console's "Client ID:"/"Client Secret:" download
  --insecure-http-aura     allow plain http:// to a non-loopback Aura API or token URL (never
                           in production; every plain-http endpoint is named in a warning)
  --request-timeout D      per-request timeout (default 30s)
  --rate-limit N           requests per window, all requests included (env AURA_RATE_LIMIT;
                           default: 125, or the account's tier learned from its first 429
                           and kept next to the journal)
  --token-cache FILE|none  the access token kept between processes, 0600 (env
                           AURA_TOKEN_CACHE; default journal.token.json beside --state)
  --token-cooldown D       wait after a failed token request, doubling to 60x (default 15s)
  --rate-window D          the sliding window (env AURA_RATE_WINDOW; default 60s)
  --rate-margin N          requests per window held back as a safety margin (default 0)
)";
  const std::string state = R"(
State:
  --specs PATH[,PATH]      spec files or folders (env AURA_SPECS); positional paths too
  --state FILE             the journal (env AURA_STATE; default .aura/journal.json)
  --credentials-dir DIR    one-time passwords, 0600 (env AURA_CREDENTIALS_DIR;
                           default .aura/credentials)
)";
  const std::string ha = R"HA(
High availability (an etcd --state; see docs/OPERATIONS.md):
  --state etcd://HOST:PORT[,HOST:PORT...]/PREFIX   the journal, credentials and leader election
                           in etcd (etcds:// for TLS); plain http only to loopback unless
                           --insecure-http-etcd
  --etcd-ca FILE           CA bundle for etcds:// (env AURA_ETCD_CA)
  --etcd-cert FILE         client certificate for etcds:// (env AURA_ETCD_CERT)
  --etcd-key FILE          its private key (env AURA_ETCD_KEY)
  --credentials-key-file FILE[,FILE]  32 random bytes, raw or base64, that seal the one-time
                           passwords in etcd (AES-256-GCM); required by run and credentials get;
                           the first seals, any opens (env AURA_CREDENTIALS_KEY_FILE)
  --lease-ttl D            leader lease, whole seconds (env AURA_LEASE_TTL; default 15s)
  --identity NAME          written to the leader key (env AURA_IDENTITY; default host and pid)
)HA";
  const std::string reconcile = R"(
Reconciling:
  --allow-delete           delete instances whose spec was removed with deletionPolicy: Delete
  --max-deletes N          at most N deletes per pass (default 1)
  --settle-window D        how long Aura's LIST may lag a create (default 60s)
  --poll-interval D        first poll of an operation in flight (default 5s)
  --poll-max D             longest poll interval (default 60s)
  --drift-share F          share of the rate budget for drift checks, 0..1 (default 0.3)
  --workers N              concurrent reconciles (default 4)
)";
  const std::string secrets = R"(
Connection Secrets (docs/OPERATIONS.md "How apps connect"):
  --connection-secrets     write each spec's connection Secret (NEO4J_URI, NEO4J_USERNAME,
                           NEO4J_PASSWORD, AURA_INSTANCEID, AURA_INSTANCENAME) in its namespace,
                           named spec.connectionSecret.name (default <name>-aura), after the
                           password is saved (env AURA_CONNECTION_SECRETS; default off)
  --kube-api-url URL       the Kubernetes API (env AURA_KUBE_API_URL; default in a cluster:
                           https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
  --kube-token-file FILE   bearer token, re-read when it changes (env AURA_KUBE_TOKEN_FILE;
                           default /var/run/secrets/kubernetes.io/serviceaccount/token)
  --kube-ca-file FILE      CA bundle that replaces the system's (env AURA_KUBE_CA_FILE; default
                           the service account's ca.crt)
)";
  const std::string logs = R"(
Logs:
  --log-level L            debug, info, warn, error (env AURA_LOG_LEVEL; default info)
  --log-format F           auto (human on a terminal), json, human (env AURA_LOG_FORMAT)
)";
  switch (c) {
    case Command::kRun:
      return "Usage: aura-controller run [flags] [SPEC-PATH...]\n\nReconciles forever. SIGTERM "
             "or SIGINT: takes no new work, finishes the request in flight\nand its journal "
             "write, exits 0.\n" +
             api + state + reconcile + R"(
Run:
  --metrics-addr ADDR      /metrics, /healthz, /readyz (env AURA_METRICS_ADDR; default :9090)
  --resync D               full pass period, jittered +-10% (env AURA_RESYNC; default 60s)
  --spec-poll D            how often to look for spec changes (default 5s)
)" + secrets +
             ha + logs;
    case Command::kPlan:
      return "Usage: aura-controller plan [flags] [SPEC-PATH...]\n\nRead-only: what apply "
             "would do, per spec and why. Sends only GET requests\n(and a token request). "
             "Exit 0: no changes; 2: changes; 1: error (bad specs included).\n" +
             api + state + R"(
Output:
  --output table|json      (default table)
)" + secrets +
             ha + logs;
    case Command::kApply:
      return "Usage: aura-controller apply [flags] [SPEC-PATH...]\n\nOne reconcile pass. "
             "Exit 0 when done (converged with --wait), 1 otherwise.\n" +
             api + state + reconcile + R"(
Apply:
  --wait                   keep going until every spec is converged
  --timeout D              give up waiting after D (default 30m); the message names the last
                           Aura API error
  --unreachable-after D    the progress says "API unreachable for N s: <last error>" once no
                           request got an answer for D (default 30s)
)" + secrets +
             logs;
    case Command::kValidate:
      return R"(Usage: aura-controller validate [SPEC-PATH...]

Checks spec files offline: syntax, fields, allowed values, duplicates. Prints every error with
file:line:column, the field, what was found and what is allowed, then a summary.
Exit 0: all valid; 1: some invalid.
  --specs PATH[,PATH]      spec files or folders (env AURA_SPECS); positional paths too
)";
    case Command::kStatus:
      return R"(Usage: aura-controller status [flags]

Per spec: key, Aura id, Aura status, phase, conditions, last error and its X-Request-Id, from
the journal and the last snapshot a running controller wrote. Sends no request.
  --state FILE|etcd://...  the journal (env AURA_STATE; default .aura/journal.json); with
                           etcd (plus --etcd-ca/--etcd-cert/--etcd-key for etcds://) the last
                           snapshot the leader wrote there
  --output table|json      (default table)
)";
    case Command::kImport:
      return "Usage: aura-controller import --tenant ID [--namespace NS] [--output-dir DIR]\n\n"
             "Writes DIR/<name>.yaml for every instance of the tenant, with the values Aura "
             "reports,\nadoption: IfExists and deletionPolicy: Retain (names made DNS-1123 from "
             "the Aura names;\nspec.name keeps the Aura name). Read-only towards Aura; never "
             "overwrites a file (nothing is\nwritten then). `plan DIR` right after shows no "
             "change. Exit 1 when an instance could not\nbe read (its file says what is "
             "missing). docs/IMPORT.md.\n\nImport:\n"
             "  --tenant ID              the Aura project (tenant) id\n"
             "  --namespace NS           metadata.namespace of the specs (default default)\n"
             "  --output-dir DIR         where to write (default: the current folder)\n" +
             api + logs;
    case Command::kCredentials:
      return R"(Usage: aura-controller credentials get [NAMESPACE/]NAME [flags]

Prints the one-time credentials saved for a spec (stdout only, never logged); a NAME alone is
in namespace "default".
  --all                    every record saved for the spec (an instance replaced or vanished
                           keeps its own), newest first
  --credentials-dir DIR    where the file backend keeps them (default .aura/credentials)
  --state etcd://...       the etcd backend (with --credentials-key-file, and --etcd-ca,
                           --etcd-cert, --etcd-key for etcds://)
  --credentials-key-file FILE[,FILE]  the key(s) the passwords were sealed with
)";
    case Command::kState:
      return R"(Usage: aura-controller state migrate --to etcd --etcd etcd://HOST:PORT/PREFIX ...

Copies the file state into an empty etcd prefix, for the high-availability mode: every journal
entry, the state's account binding, and every saved credentials record (each spec's current one
and every instance's, history included), sealed with --credentials-key-file. Holds the file
journal's lock throughout (stop the controller first; it refuses while one runs), refuses a
prefix that holds anything, holds <PREFIX>/leader meanwhile so no controller acts on it, reads
everything back and compares, and deletes its copy again on any failure. The files are only
read. Prints what it copied (never a password). See docs/OPERATIONS.md "Moving a file journal
to etcd".
  --to etcd                the backend to move to (the only one)
  --etcd etcd[s]://HOST:PORT[,HOST:PORT...]/PREFIX   the etcd state to create (etcds:// for
                           TLS); plain http only to loopback unless --insecure-http-etcd
  --etcd-ca FILE, --etcd-cert FILE, --etcd-key FILE   TLS material for etcds://
  --credentials-key-file FILE[,FILE]  the key that seals the passwords (the first one);
                           the controller on etcd needs it to open them
  --state FILE             the file journal to migrate (env AURA_STATE; default
                           .aura/journal.json)
  --credentials-dir DIR    its credentials folder (env AURA_CREDENTIALS_DIR; default
                           .aura/credentials)
)";
    case Command::kTenants:
      return "Usage: aura-controller tenants [TENANT-ID] [flags]\n\nLists the tenants (Aura "
             "projects) the credentials can see and, for each, the instance\nconfigurations it "
             "offers (GET /tenants, GET /tenants/{id}): one row per cloud provider,\nregion and "
             "type with its versions and MEMORY/STORAGE sizes, for writing a valid spec.\nSends "
             "only GET requests (and a token request), through the shared rate limit.\n" +
             api + R"(
Output:
  --output table|json      (default table; json: every configuration as Aura sent it)
  --state FILE             where the learned rate limit and token cache are kept (default
                           .aura/journal.json)
)" + logs;
    case Command::kSnapshot:
    case Command::kRestore:
    case Command::kOverwrite:
      return std::string(
                 c == Command::kOverwrite
                     ? "Usage: aura-controller overwrite [NAMESPACE/]NAME --from "
                       "[NAMESPACE/]NAME2 [flags]\n\nReplaces the data of a spec's "
                       "instance with another spec's (a new snapshot of it, or\n--snapshot "
                       "ID of it) and waits until it runs again. Asks for \"yes\" on a "
                       "terminal,\notherwise needs --yes.\n"
                 : c == Command::kSnapshot
                     ? "Usage: aura-controller snapshot create|list [NAMESPACE/]NAME "
                       "[flags]\n\nTakes a snapshot of the instance of a spec (create; "
                       "--wait: until Completed) or lists\nits snapshots (list, "
                       "--output json too).\n"
                     : "Usage: aura-controller restore [NAMESPACE/]NAME --snapshot ID "
                       "[flags]\n\nRestores the instance of a spec to one of its "
                       "snapshots and waits until it runs again.\nIts current data is "
                       "replaced: asks for \"yes\" on a terminal, otherwise needs --yes.\n") +
             R"(
  NAMESPACE/NAME           a spec key, resolved to its instance through the journal (read-only:
                           works while a controller runs); a NAME alone is in "default"
  --instance-id ID         an Aura instance id instead (no journal needed)
  --snapshot ID            (restore) the snapshot to restore; (overwrite) the source's
  --from NAMESPACE/NAME    (overwrite) the source spec (never --instance-id)
  --yes                    (restore, overwrite) do not ask
  --wait                   (snapshot create) wait until the snapshot is Completed
  --timeout D              give up waiting after D (default 30m)
  --poll-interval D        first poll (default 5s), doubling up to --poll-max (default 60s)
  --state FILE|etcd://...  the journal (default .aura/journal.json)
  --output table|json      (snapshot list)
)" + api + logs;
    case Command::kVersion:
      return "Usage: aura-controller version\n";
    default:
      return Usage();
  }
}

}  // namespace aura::cmd
