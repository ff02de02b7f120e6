"""Helpers shared by the packaging checks: failure collection, Kubernetes object lookups and the
controller's own flag syntax. Standard library only."""
import subprocess


class Failures:
    """Collects failed checks (all of them are reported, not only the first)."""

    def __init__(self):
        self.items = []
        self.context = ""  # prefixed to each message, e.g. "manifests/base"

    def check(self, ok, message):
        if not ok:
            self.items.append("%s: %s" % (self.context, message) if self.context else message)
        return bool(ok)

    def report(self, what):
        """Prints the verdict; returns the exit code."""
        if not self.items:
            print("OK: %s" % what)
            return 0
        print("\nFAIL:")
        for item in self.items:
            print("  - " + item)
        return 1


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


# ---- Kubernetes objects ----------------------------------------------------------------------

def ident(obj):
    return "%s/%s" % (obj.get("kind"), (obj.get("metadata") or {}).get("name"))


def by_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def one(objects, kind, f):
    found = by_kind(objects, kind)
    f.check(len(found) == 1, "expected one %s, found %d" % (kind, len(found)))
    return found[0] if found else None


def pod_spec(obj):
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def all_containers(pod):
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


def volume(pod, name):
    for v in pod.get("volumes") or []:
        if v.get("name") == name:
            return v
    return {}


def mount_for(container, path):
    """The volumeMount of `container` whose mountPath holds `path` (the deepest one), or None."""
    best = None
    for m in container.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                best = m
    return best


def labels_select(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# ---- command lines -------------------------------------------------------------------------

AURA_BOOLEAN_FLAGS = {"allow-delete", "insecure-http-aura", "insecure-http-etcd", "wait", "help",
                      "all", "rebind-state", "allow-core-dumps", "connection-secrets"}


def parse_flags(args, boolean=frozenset(AURA_BOOLEAN_FLAGS)):
    """({flag: value}, positional) for `--flag=value`, `--flag value` and boolean `--flag`."""
    flags, positional, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and len(a) > 2:
            name, eq, value = a[2:].partition("=")
            if not eq and name in boolean:
                value = "true"
            elif not eq and i + 1 < len(args):
                i += 1
                value = args[i]
            flags[name] = value
        else:
            positional.append(a)
        i += 1
    return flags, positional


def setting(container, flag, env_name):
    """The controller's effective `--flag`: the arg, else the literal env value (flags win)."""
    flags, _ = parse_flags(container.get("args") or [])
    if flag in flags:
        return flags[flag]
    for e in container.get("env") or []:
        if e.get("name") == env_name and "value" in e:
            return e["value"]
    return None


def spec_paths(container):
    """The spec folders the controller reads: --specs (or AURA_SPECS) and positional args."""
    flags, positional = parse_flags(container.get("args") or [])
    joined = flags.get("specs") or setting(container, "specs", "AURA_SPECS") or ""
    return [s for s in joined.split(",") if s] + positional


def git_sync_flags(container, configmaps=None):
    """git-sync v4 settings from args, GITSYNC_* env and envFrom ConfigMaps (args win);
    `configmaps` {name: ConfigMap} of the rendered objects."""
    flags, _ = parse_flags(container.get("args") or [], boolean={"one-time", "add-user"})
    env = [(e.get("name", ""), e["value"]) for e in container.get("env") or [] if "value" in e]
    for src in container.get("envFrom") or []:
        ref = (src.get("configMapRef") or {}).get("name")
        env += sorted(((configmaps or {}).get(ref, {}).get("data") or {}).items())
    for name, value in env:
        if name.startswith("GITSYNC_"):
            flags.setdefault(name[len("GITSYNC_"):].lower().replace("_", "-"), value)
    return flags


def is_git_sync(container):
    return "git-sync" in container.get("image", "")
