"""Starts the built aura-controller the way a rendered Deployment starts it, and checks it.

Each volume of the pod becomes a temporary folder laid out as the kubelet (a ConfigMap's
`..<timestamp>/`, `..data` and per-key symlinks) or git-sync v4 (`.git`, `.worktrees/<commit>`,
`<link>` -> the worktree) would lay it out; the container's args and literal env are rewritten
from mount paths to those folders; secretKeyRef variables get dummy values; the Aura API is a
closed loopback port; a projected service account volume gets a dummy token, CA and namespace, and
the Kubernetes API (--connection-secrets) is a closed loopback port too, reached with the token
and CA from that volume (flags replace the in-cluster defaults, whose paths are absolute). `aura-controller run` must accept the args, load every spec from the
volume, answer /healthz and /readyz, export every metric (and label value) the alerts select,
write nothing outside its writable volume (its working, home and temp folders stay empty; the
read-only volumes unchanged), lock the journal there, and exit 0 on SIGTERM.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from packaging_util import (all_containers, by_kind, git_sync_flags, is_git_sync, mount_for,
                            pod_spec, setting)

START_TIMEOUT_S = 15
CLOSED_API = "http://127.0.0.1:9"  # discard port: connections are refused
CLOSED_KUBE_API = "https://127.0.0.1:9"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def lay_out_volumes(pod, objects, spec_files, root):
    """A folder per volume, filled as the kubelet or git-sync would; {volume name: folder}."""
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    links = {}  # volume -> git-sync --link
    for c in all_containers(pod):
        if is_git_sync(c):
            flags = git_sync_flags(c)
            m = mount_for(c, flags.get("root", "/nonexistent"))
            if m and flags.get("link"):
                links[m["name"]] = flags["link"]
    dirs = {}
    for v in pod.get("volumes") or []:
        d = os.path.join(root, "volumes", v["name"])
        os.makedirs(d)
        dirs[v["name"]] = d
        if "configMap" in v:
            data = configmaps.get(v["configMap"]["name"], {}).get("data") or {}
            stamp = "..2024_01_01_00_00_00.000000001"
            os.makedirs(os.path.join(d, stamp))
            for key, text in data.items():
                write(os.path.join(d, stamp, key), text)
                os.symlink(os.path.join("..data", key), os.path.join(d, key))
            os.symlink(stamp, os.path.join(d, "..data"))
        elif "secret" in v:  # the kubelet writes each item (or key) as a file
            items = v["secret"].get("items") or [{"key": "credentials", "path": "credentials"}]
            for item in items:
                text = ("client_id=packaging-test-client-id\n"
                        "client_secret=packaging-test-client-secret\n"
                        if item["key"] == "credentials" else "packaging-test-" + item["key"])
                write(os.path.join(d, item["path"]), text)
        elif "projected" in v:
            for src in v["projected"].get("sources") or []:
                if "serviceAccountToken" in src:
                    write(os.path.join(d, src["serviceAccountToken"].get("path", "token")),
                          "packaging-test-token")
                for part in ("configMap", "downwardAPI"):
                    for item in (src.get(part) or {}).get("items") or []:
                        write(os.path.join(d, item["path"]), "packaging-test-" + item["path"])
        elif v["name"] in links:
            commit = "0123456789abcdef0123456789abcdef01234567"
            os.makedirs(os.path.join(d, ".git", "worktrees", commit))
            tree = os.path.join(d, ".worktrees", commit)
            os.makedirs(tree)
            write(os.path.join(tree, ".git"), "gitdir: ../../.git/worktrees/%s\n" % commit)
            write(os.path.join(tree, "README.md"), "# Aura specs\n")
            for key, text in spec_files.items():
                write(os.path.join(tree, key), text)
            os.symlink(os.path.join(".worktrees", commit), os.path.join(d, links[v["name"]]))
    return dirs


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def metric_requirements(rules):
    """{metric: {label: {values}}} for every aura_ selector in the alert expressions."""
    need = {}
    for g in rules.get("groups") or []:
        for r in g.get("rules") or []:
            for m in re.finditer(r"\b(aura_[a-zA-Z0-9_]+)(\{([^}]*)\})?", str(r.get("expr", ""))):
                labels = need.setdefault(m.group(1), {})
                for lm in re.finditer(r'(\w+)\s*(=~|=)\s*"([^"]*)"', m.group(3) or ""):
                    values = lm.group(3).split("|") if lm.group(2) == "=~" else [lm.group(3)]
                    labels.setdefault(lm.group(1), set()).update(values)
    return need


def log_entries(log):
    log.seek(0)
    for line in log.read().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def check_metrics(metrics, rules, f):
    for metric, labels in metric_requirements(rules).items():
        if not f.check(re.search(r"^# TYPE %s " % re.escape(metric), metrics, re.M),
                       "an alert uses %s, which the controller does not export" % metric):
            continue
        for label, values in labels.items():
            for value in values:
                series = r'^%s\{[^}]*%s="%s"' % (re.escape(metric), label, re.escape(value))
                f.check(re.search(series, metrics, re.M),
                        "an alert selects %s{%s=\"%s\"}, which the controller does not export"
                        % (metric, label, value))


def run_as_deployed(binary, objects, dep, c, spec_files, secret_env, rules, f):
    """`c` is the controller container of Deployment `dep`; `secret_env` {var: dummy value}."""
    pod = pod_spec(dep)
    root = tempfile.mkdtemp(prefix="aura-packaging-")
    proc, log = None, None
    try:
        dirs = lay_out_volumes(pod, objects, spec_files, root)
        mounts = sorted(((m["mountPath"].rstrip("/"), dirs[m["name"]])
                         for m in c.get("volumeMounts") or []), key=lambda x: -len(x[0]))

        def host(path):
            for mp, d in mounts:
                if path == mp or path.startswith(mp + "/"):
                    return d + path[len(mp):]
            return path

        def host_list(value):  # "a,b" lists of paths (--specs, AURA_SPECS)
            return ",".join(host(p) for p in value.split(","))

        args = []
        for a in c.get("args") or []:
            flag, eq, value = a.partition("=")
            if flag == "--metrics-addr":
                continue
            args.append(flag + "=" + host_list(value) if eq and flag.startswith("--") else host(a))
        args += ["--metrics-addr=127.0.0.1:0", "--api-url=%s/v1" % CLOSED_API,
                 "--token-url=%s/oauth/token" % CLOSED_API, "--spec-poll=100ms"]
        kube = mount_for(c, TOKEN_PATH) is not None
        if kube:
            args += ["--kube-api-url=%s" % CLOSED_KUBE_API,
                     "--kube-token-file=%s" % host(TOKEN_PATH + "/token"),
                     "--kube-ca-file=%s" % host(TOKEN_PATH + "/ca.crt")]
        for name in ("cwd", "home", "tmp"):
            os.makedirs(os.path.join(root, name))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": os.path.join(root, "home"), "TMPDIR": os.path.join(root, "tmp")}
        for e in c.get("env") or []:
            if "value" in e:
                env[e["name"]] = host_list(e["value"])
            elif e["name"] in secret_env:
                env[e["name"]] = secret_env[e["name"]]
        read_only = {m["name"] for m in c.get("volumeMounts") or [] if m.get("readOnly")}
        before = {n: snapshot(dirs[n]) for n in read_only}

        log = open(os.path.join(root, "controller.log"), "w+", encoding="utf-8")
        proc = subprocess.Popen([binary, "run"] + args, cwd=os.path.join(root, "cwd"), env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        port, loaded, health, ready, metrics, secrets_on = None, None, None, None, "", None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            for entry in log_entries(log):
                if entry.get("msg") == "aura-controller running":
                    port = entry.get("metrics_port")
                if entry.get("msg") == "specs loaded":
                    loaded = entry
                if entry.get("msg", "").startswith("connection Secrets on"):
                    secrets_on = entry
            if port and loaded:
                try:
                    health, _ = http_get(port, "/healthz")
                    ready, _ = http_get(port, "/readyz")
                    code, metrics = http_get(port, "/metrics")
                    if code == 200 and health == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.05)

        def tail():
            log.seek(0)
            return "\n    ".join(log.read().splitlines()[-15:])

        if not f.check(proc.poll() is None,
                       "aura-controller run exited %r with the Deployment's args %r:\n    %s"
                       % (proc.returncode, args, tail())):
            return
        n = len(spec_files)
        f.check(loaded and loaded.get("complete") is True and loaded.get("files") == n and
                loaded.get("valid", 0) >= n and loaded.get("invalid") == 0,
                "the controller did not load the %d spec(s) from the volume (log: %r):\n    %s"
                % (n, loaded, tail()))
        f.check(health == 200, "/healthz answered %r, expected 200" % health)
        if kube:
            f.check(secrets_on and secrets_on.get("token_file") == host(TOKEN_PATH + "/token"),
                    "connection Secrets are not on with the mounted token (log: %r)"
                    % secrets_on)
        f.check(ready in (200, 503), "/readyz answered %r, expected 200 or 503" % ready)
        check_metrics(metrics, rules, f)

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = "still running 15 s after SIGTERM"
        f.check(rc == 0, "exit after SIGTERM: %r" % rc)

        for name in ("cwd", "home", "tmp"):
            left = os.listdir(os.path.join(root, name))
            f.check(not left, "the controller wrote %r into its %s folder (read-only in the pod)"
                    % (left, name))
        for name in read_only:
            f.check(snapshot(dirs[name]) == before[name],
                    "the controller changed the read-only volume %s" % name)
        state = host(setting(c, "state", "AURA_STATE") or "")
        f.check(os.path.exists(state + ".lock"), "no journal lock %s.lock on the volume" % state)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if log is not None:
            log.close()
        shutil.rmtree(root, ignore_errors=True)
