#!/usr/bin/env python3
"""Renders every kustomization under manifests/ with `kubectl kustomize` and checks the objects.

Every rendered object and every YAML file in manifests/: no Secret carries data; every pod runs
hardened (non-root numeric user, read-only root filesystem, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, requests and limits); secret-like variables come
from secretKeyRef. The base and the git-sync overlay: one replica, Recreate, the probes, the
journal and credentials on the PersistentVolumeClaim, the specs from the ConfigMap or from
git-sync's published symlink, the Aura client from the aura-api-credentials Secret, the metrics
Service. Then the controller is started the way the Deployment starts it (its args and env, each
volume a temporary folder laid out as the kubelet or git-sync would), and must accept them, load
the specs, answer the probes, export every metric the alerts use, write only on the volume and
exit 0 on SIGTERM. The monitoring kustomization: the ServiceMonitor finds the Service, the
PrometheusRule's spec passes `promtool check rules` and the alert unit tests (alerts_test.yaml).
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import yaml
except ImportError:
    print("FAIL: python3 cannot import yaml (scripts/install-deps.sh installs python3-yaml)")
    sys.exit(1)

BASE, GIT_SYNC, MONITORING = "base", "overlays/git-sync", "monitoring"
SECRET_NAME = "aura-api-credentials"
SECRET_KEYS = {"AURA_CLIENT_ID": "client-id", "AURA_CLIENT_SECRET": "client-secret"}
REQUIRED_ALERTS = {  # alert -> a metric its expression must use
    "AuraDuplicateInstances": "aura_duplicate_instances",
    "AuraApiThrottled": "aura_api_throttled_total",
    "AuraReconcileFailing": "aura_reconcile_total",
    "AuraObservationsStale": "aura_observation_staleness_seconds",
    "AuraCreateStuckPending": "aura_instances",
}
BOOLEAN_FLAGS = {"allow-delete", "insecure-http", "wait", "help"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


class Failures:
    def __init__(self):
        self.items = []
        self.context = ""

    def check(self, ok, message):
        if not ok:
            self.items.append("%s: %s" % (self.context, message) if self.context else message)
        return bool(ok)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=False, **kw)


def ident(obj):
    return "%s/%s" % (obj.get("kind"), (obj.get("metadata") or {}).get("name"))


def by_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def one(objects, kind, f):
    found = by_kind(objects, kind)
    f.check(len(found) == 1, "expected one %s, found %d" % (kind, len(found)))
    return found[0] if found else None


# ---- generic checks ---------------------------------------------------------------------------

def check_no_secret_values(docs, where, f):
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "Secret":
            f.check(not d.get("data") and not d.get("stringData"),
                    "%s: %s carries data; reference Secrets, never commit them" % (where, ident(d)))


def pod_spec(obj):
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def all_containers(pod):
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


def check_hardened(obj, f):
    pod = pod_spec(obj)
    psc = pod.get("securityContext") or {}
    f.check(psc.get("runAsNonRoot") is True, "%s: pod securityContext.runAsNonRoot is not true" % ident(obj))
    f.check(isinstance(psc.get("fsGroup"), int), "%s: pod securityContext.fsGroup is not set" % ident(obj))
    for c in all_containers(pod):
        where = "%s container %s" % (ident(obj), c.get("name"))
        sc = c.get("securityContext") or {}
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        f.check(isinstance(uid, int) and uid != 0, "%s: runAsUser must be a numeric non-root uid, is %r" % (where, uid))
        f.check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, "%s: runAsNonRoot is not true" % where)
        f.check(sc.get("readOnlyRootFilesystem") is True, "%s: readOnlyRootFilesystem is not true" % where)
        f.check(sc.get("allowPrivilegeEscalation") is False, "%s: allowPrivilegeEscalation is not false" % where)
        f.check(not sc.get("privileged"), "%s: privileged" % where)
        f.check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), "%s: capabilities do not drop ALL" % where)
        f.check(not (sc.get("capabilities") or {}).get("add"), "%s: adds capabilities" % where)
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        f.check(seccomp == "RuntimeDefault", "%s: seccompProfile is %r, not RuntimeDefault" % (where, seccomp))
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                f.check(r in (res.get(part) or {}), "%s: no resources.%s.%s" % (where, part, r))
        for e in c.get("env") or []:
            if re.search(r"SECRET|PASSWORD|TOKEN|PRIVATE|CREDENTIAL(?!S_DIR)", e.get("name", "").upper()):
                f.check("value" not in e, "%s: env %s has a literal value; use valueFrom.secretKeyRef"
                        % (where, e.get("name")))


# ---- the controller pod -----------------------------------------------------------------------

def parse_flags(args):
    """({flag: value}, positional) as the controller parses `--flag=value` / `--flag value`."""
    flags, positional, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and len(a) > 2:
            name, eq, value = a[2:].partition("=")
            if not eq and name not in BOOLEAN_FLAGS and i + 1 < len(args):
                i += 1
                value = args[i]
            flags[name] = value if (eq or name not in BOOLEAN_FLAGS) else "true"
        else:
            positional.append(a)
        i += 1
    return flags, positional


def setting(container, flag, env_name):
    flags, _ = parse_flags(container.get("args") or [])
    if flag in flags:
        return flags[flag]
    for e in container.get("env") or []:
        if e.get("name") == env_name and "value" in e:
            return e["value"]
    return None


def mount_for(container, path):
    """The volumeMount whose mountPath holds `path` (the deepest one)."""
    best = None
    for m in container.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                best = m
    return best


def volume(pod, name):
    for v in pod.get("volumes") or []:
        if v.get("name") == name:
            return v
    return {}


def check_controller_deployment(objects, variant, project_version, f):
    """Returns (deployment, controller container) for the run check."""
    dep = one(objects, "Deployment", f)
    if dep is None:
        return None, None
    spec = dep["spec"]
    f.check(spec.get("replicas") == 1, "Deployment replicas is %r, not 1" % spec.get("replicas"))
    f.check((spec.get("strategy") or {}).get("type") == "Recreate",
            "Deployment strategy is %r, not Recreate (the journal has one writer)" % spec.get("strategy"))
    pod = pod_spec(dep)
    template_labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    f.check(selector and all(template_labels.get(k) == v for k, v in selector.items()),
            "Deployment selector %r does not match the pod labels %r" % (selector, template_labels))
    sa = one(objects, "ServiceAccount", f)
    if sa:
        f.check(pod.get("serviceAccountName") == sa["metadata"]["name"],
                "serviceAccountName %r is not the ServiceAccount %r" % (pod.get("serviceAccountName"), sa["metadata"]["name"]))
    f.check(pod.get("automountServiceAccountToken") is False,
            "the pod mounts a service account token; the controller never calls the Kubernetes API")

    controllers = [c for c in pod.get("containers") or [] if c.get("name") == "controller"]
    if not f.check(len(controllers) == 1, "no container named controller"):
        return dep, None
    c = controllers[0]
    f.check("command" not in c, "the controller container sets command: the image's ENTRYPOINT "
            "(aura-controller run) must stay")
    image = c.get("image", "")
    f.check(re.match(r"^(.*/)?aura-controller:" + re.escape(project_version) + "$", image) is not None,
            "controller image %r is not aura-controller:%s" % (image, project_version))

    # Port and probes.
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    f.check(ports.get("metrics") == 9090, "no container port metrics: 9090 (found %r)" % ports)
    addr = setting(c, "metrics-addr", "AURA_METRICS_ADDR") or ":9090"
    f.check(addr.rsplit(":", 1)[-1] == "9090", "--metrics-addr %r does not serve the metrics port 9090" % addr)
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        f.check(get.get("path") == path and get.get("port") in ("metrics", 9090),
                "%s is %r, expected httpGet %s on the metrics port" % (probe, get, path))

    # The Aura client from a Secret reference.
    env = {e.get("name"): e for e in c.get("env") or []}
    for var, key in SECRET_KEYS.items():
        ref = ((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        f.check(ref.get("name") == SECRET_NAME and ref.get("key") == key,
                "env %s is not secretKeyRef {name: %s, key: %s} (found %r)" % (var, SECRET_NAME, key, env.get(var)))

    # Journal and credentials on the PersistentVolumeClaim.
    pvcs = {p["metadata"]["name"]: p for p in by_kind(objects, "PersistentVolumeClaim")}
    data_mounts = set()
    for flag, var in (("state", "AURA_STATE"), ("credentials-dir", "AURA_CREDENTIALS_DIR")):
        value = setting(c, flag, var)
        if not f.check(value and value.startswith("/"), "--%s is %r, expected an absolute path" % (flag, value)):
            continue
        flags, _ = parse_flags(c.get("args") or [])
        f.check(flag in flags, "args do not pass --%s" % flag)
        m = mount_for(c, value)
        if not f.check(m is not None, "--%s=%s is on no volume (the root filesystem is read-only)" % (flag, value)):
            continue
        claim = (volume(pod, m["name"]).get("persistentVolumeClaim") or {}).get("claimName")
        f.check(claim in pvcs, "--%s=%s is on volume %s, not a PersistentVolumeClaim of these manifests"
                % (flag, value, m["name"]))
        f.check(not m.get("readOnly"), "--%s=%s is on a read-only mount" % (flag, value))
        data_mounts.add(m["name"])
        if var in env and "value" in env[var]:
            f.check(env[var]["value"] == value, "env %s=%r differs from --%s=%r (exec'd commands would "
                    "read another journal)" % (var, env[var]["value"], flag, value))
    f.check(len(data_mounts) <= 1, "journal and credentials are on different volumes %r" % data_mounts)
    for p in pvcs.values():
        f.check("ReadWriteOnce" in (p["spec"].get("accessModes") or []),
                "%s is not ReadWriteOnce" % ident(p))
        notes = p["metadata"].get("annotations") or {}
        f.check(notes.get("kustomize.toolkit.fluxcd.io/prune") == "disabled" and
                "Prune=false" in notes.get("argocd.argoproj.io/sync-options", ""),
                "%s may be pruned by Flux or Argo CD (it holds the only copy of passwords)" % ident(p))

    # The specs.
    flags, positional = parse_flags(c.get("args") or [])
    specs = [s for s in (flags.get("specs") or setting(c, "specs", "AURA_SPECS") or "").split(",") if s] + positional
    if f.check(len(specs) == 1, "expected one spec folder, found %r" % specs):
        m = mount_for(c, specs[0])
        if f.check(m is not None, "the spec folder %s is on no volume" % specs[0]):
            f.check(m.get("readOnly") is True, "the spec volume is mounted writable in the controller")
            v = volume(pod, m["name"])
            if variant == BASE:
                cm = (v.get("configMap") or {}).get("name")
                f.check(cm in {o["metadata"]["name"] for o in by_kind(objects, "ConfigMap")},
                        "the spec volume %s is not a ConfigMap of these manifests (%r)" % (m["name"], v))
                f.check(specs[0].rstrip("/") == m["mountPath"].rstrip("/"),
                        "--specs %s is not the ConfigMap's mount %s" % (specs[0], m["mountPath"]))
            else:
                check_git_sync(pod, c, m, specs[0], f)
    return dep, c


def git_sync_flags(container):
    flags, _ = parse_flags(container.get("args") or [])
    for e in container.get("env") or []:  # GITSYNC_FOO_BAR -> foo-bar, flags win
        if e.get("name", "").startswith("GITSYNC_") and "value" in e:
            flags.setdefault(e["name"][len("GITSYNC_"):].lower().replace("_", "-"), e["value"])
    return flags


def check_git_sync(pod, controller, specs_mount, specs_path, f):
    v = volume(pod, specs_mount["name"])
    f.check(set(v) == {"name", "emptyDir"}, "the git-sync spec volume is %r, expected only an emptyDir" % v)
    sidecars = [c for c in pod.get("containers") or [] if "git-sync" in c.get("image", "")]
    inits = [c for c in pod.get("initContainers") or [] if "git-sync" in c.get("image", "")]
    f.check(len(sidecars) == 1 and len(inits) == 1,
            "expected one git-sync init container (first clone before the controller starts) and "
            "one git-sync sidecar, found %d and %d" % (len(inits), len(sidecars)))
    for gs in inits + sidecars:
        flags = git_sync_flags(gs)
        where = "git-sync container %s" % gs.get("name")
        f.check(re.search(r":v4\.\d+\.\d+$", gs.get("image", "")), "%s: image %r is not a pinned git-sync v4" % (where, gs.get("image")))
        f.check(flags.get("repo"), "%s: no --repo" % where)
        m = mount_for(gs, flags.get("root", "/nonexistent"))
        if not f.check(m is not None and m["name"] == specs_mount["name"] and
                       flags["root"].rstrip("/") == m["mountPath"].rstrip("/"),
                       "%s: --root %r is not the mount of the spec volume" % (where, flags.get("root"))):
            continue
        link = flags.get("link", "")
        f.check(link and "/" not in link, "%s: expected a plain --link name, found %r" % (where, link))
        published = specs_mount["mountPath"].rstrip("/") + "/" + link
        f.check(specs_path == published or specs_path.startswith(published + "/"),
                "the controller reads %s, not git-sync's published link %s" % (specs_path, published))
        one_time = flags.get("one-time") in ("", "true", "1")
        f.check(one_time == (gs in inits), "%s: --one-time must be set on the init container only" % where)
        f.check(mount_for(gs, "/tmp") is not None, "%s: no writable /tmp (git needs it; the root is read-only)" % where)


def check_service(objects, dep, f):
    svc = one(objects, "Service", f)
    if svc is None or dep is None:
        return None
    labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    sel = svc["spec"].get("selector") or {}
    f.check(sel and all(labels.get(k) == v for k, v in sel.items()),
            "Service selector %r does not select the controller pod %r" % (sel, labels))
    ports = {p.get("name"): p for p in svc["spec"].get("ports") or []}
    p = ports.get("metrics") or {}
    f.check(p.get("port") == 9090 and p.get("targetPort") in ("metrics", 9090),
            "Service has no port metrics 9090 -> metrics (found %r)" % list(ports.values()))
    f.check(svc["spec"].get("publishNotReadyAddresses") is True,
            "Service does not publish not-ready addresses: metrics would vanish while /readyz "
            "fails, when they matter most")
    return svc


# ---- running the controller as the Deployment would --------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def lay_out_volumes(pod, objects, spec_files, root):
    """A folder per volume, as the kubelet or git-sync would fill it; {volume name: folder}."""
    dirs = {}
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    links = {}
    for c in all_containers(pod):
        if "git-sync" in c.get("image", ""):
            flags = git_sync_flags(c)
            m = mount_for(c, flags.get("root", "/nonexistent"))
            if m:
                links[m["name"]] = flags.get("link")
    for v in pod.get("volumes") or []:
        d = os.path.join(root, "volumes", v["name"])
        os.makedirs(d)
        dirs[v["name"]] = d
        if "configMap" in v:  # the kubelet's atomic writer: ..<timestamp>/, ..data, links
            data = configmaps.get(v["configMap"]["name"], {}).get("data") or {}
            stamp = "..2024_01_01_00_00_00.000000001"
            os.makedirs(os.path.join(d, stamp))
            for key, text in data.items():
                with open(os.path.join(d, stamp, key), "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.symlink(os.path.join("..data", key), os.path.join(d, key))
            os.symlink(stamp, os.path.join(d, "..data"))
        elif v["name"] in links:  # git-sync v4: .git, .worktrees/<hash>, <link> -> worktree
            os.makedirs(os.path.join(d, ".git", "objects"))
            tree = os.path.join(d, ".worktrees", "0123456789abcdef0123456789abcdef01234567")
            os.makedirs(tree)
            with open(os.path.join(tree, ".git"), "w") as fh:
                fh.write("gitdir: ../../.git/worktrees/0123456789abcdef\n")
            with open(os.path.join(tree, "README.md"), "w") as fh:
                fh.write("# specs\n")
            for key, text in spec_files.items():
                with open(os.path.join(tree, key), "w", encoding="utf-8") as fh:
                    fh.write(text)
            os.symlink(os.path.relpath(tree, d), os.path.join(d, links[v["name"]]))
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
            expr = str(r.get("expr", ""))
            for m in re.finditer(r"\b(aura_[a-zA-Z0-9_]+)(\{([^}]*)\})?", expr):
                labels = need.setdefault(m.group(1), {})
                for lm in re.finditer(r'(\w+)\s*(=~|=)\s*"([^"]*)"', m.group(3) or ""):
                    values = lm.group(3).split("|") if lm.group(2) == "=~" else [lm.group(3)]
                    labels.setdefault(lm.group(1), set()).update(values)
    return need


def run_controller(binary, objects, dep, c, spec_files, rules, variant, f):
    """Starts `aura-controller run` with the Deployment's args and env; checks what it does."""
    pod = pod_spec(dep)
    root = tempfile.mkdtemp(prefix="aura-packaging-")
    proc = None
    try:
        dirs = lay_out_volumes(pod, objects, spec_files, root)
        mounts = sorted(((m["mountPath"].rstrip("/"), dirs[m["name"]]) for m in c.get("volumeMounts") or []),
                        key=lambda x: -len(x[0]))

        def host(value):
            for mp, d in mounts:
                if value == mp or value.startswith(mp + "/"):
                    return d + value[len(mp):]
            return value

        def rewrite(value):  # "--state=/var/lib/x" and "/var/lib/x"
            flag, eq, v = value.partition("=")
            return flag + "=" + ",".join(host(p) for p in v.split(",")) if eq and flag.startswith("--") else host(value)

        port = free_port()
        args = [rewrite(a) for a in (c.get("args") or []) if not a.startswith("--metrics-addr")]
        args += ["--metrics-addr=127.0.0.1:%d" % port, "--api-url=http://127.0.0.1:9/v1",
                 "--token-url=http://127.0.0.1:9/oauth/token", "--spec-poll=100ms"]
        for name in ("cwd", "home", "tmp"):
            os.makedirs(os.path.join(root, name))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.join(root, "home"),
               "TMPDIR": os.path.join(root, "tmp")}
        for e in c.get("env") or []:
            if "value" in e:
                env[e["name"]] = host(e["value"]) if e["name"] != "AURA_SPECS" else ",".join(
                    host(p) for p in e["value"].split(","))
            elif e["name"] in SECRET_KEYS:
                env[e["name"]] = "packaging-test-" + SECRET_KEYS[e["name"]]
        specs_before = {n: snapshot(d) for n, d in dirs.items()
                        if any(m.get("readOnly") and m["name"] == n for m in c.get("volumeMounts") or [])}

        log = open(os.path.join(root, "controller.log"), "w+")
        proc = subprocess.Popen([binary, "run"] + args, cwd=os.path.join(root, "cwd"), env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        metrics, health, ready, loaded = "", None, None, None
        n_specs = len(spec_files)
        while time.monotonic() < deadline and proc.poll() is None:
            log.seek(0)
            for line in log.read().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "specs loaded":
                    loaded = entry
            try:
                health, _ = http_get(port, "/healthz")
                ready, _ = http_get(port, "/readyz")
                code, metrics = http_get(port, "/metrics")
                if code == 200 and health == 200 and loaded:
                    break
            except OSError:
                pass
            time.sleep(0.1)

        def output():
            log.seek(0)
            return "\n    ".join(log.read().splitlines()[-15:])

        if not f.check(proc.poll() is None, "aura-controller run exited %r with the Deployment's args "
                       "%r:\n    %s" % (proc.returncode, args, output())):
            return
        f.check(health == 200, "/healthz answered %r, expected 200" % health)
        f.check(ready in (200, 503), "/readyz answered %r, expected 200 or 503" % ready)
        f.check(loaded and loaded.get("complete") is True and loaded.get("valid") == n_specs and
                loaded.get("invalid") == 0,
                "the controller did not load the %d spec(s) from the volume (log: %r):\n    %s"
                % (n_specs, loaded, output()))
        for metric, labels in metric_requirements(rules).items():
            if not f.check(re.search(r"^# TYPE %s " % re.escape(metric), metrics, re.M),
                           "an alert uses %s, which the controller does not export" % metric):
                continue
            for label, values in labels.items():
                for value in values:
                    f.check(re.search(r'^%s\{[^}]*%s="%s"' % (re.escape(metric), label, re.escape(value)), metrics, re.M),
                            "an alert selects %s{%s=\"%s\"}, which the controller does not export"
                            % (metric, label, value))

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = "still running 15 s after SIGTERM"
        f.check(rc == 0, "exit after SIGTERM: %r" % rc)

        # Nothing written outside the volume; the read-only volumes untouched.
        for name in ("cwd", "home", "tmp"):
            left = os.listdir(os.path.join(root, name))
            f.check(not left, "the controller wrote %r into its %s (read-only in the pod)" % (left, name))
        for n, before in specs_before.items():
            f.check(snapshot(dirs[n]) == before, "the controller changed the read-only volume %s" % n)
        state = host(setting(c, "state", "AURA_STATE") or "")
        f.check(os.path.exists(state + ".lock"), "no journal lock %s.lock on the volume" % state)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


# ---- monitoring ---------------------------------------------------------------------------------

def check_monitoring(objects, base_service, promtool, alert_tests, f):
    sm = one(objects, "ServiceMonitor", f)
    rule = one(objects, "PrometheusRule", f)
    if sm and base_service:
        sel = (sm["spec"].get("selector") or {}).get("matchLabels") or {}
        labels = base_service["metadata"].get("labels") or {}
        f.check(sel and all(labels.get(k) == v for k, v in sel.items()),
                "ServiceMonitor selector %r does not select the Service %r" % (sel, labels))
        f.check(sm["metadata"].get("namespace") == base_service["metadata"].get("namespace") or
                sm["spec"].get("namespaceSelector"),
                "ServiceMonitor is in another namespace than the Service and has no namespaceSelector")
        port_names = {p.get("name") for p in base_service["spec"].get("ports") or []}
        eps = sm["spec"].get("endpoints") or []
        f.check(eps and all(e.get("port") in port_names and e.get("path", "/metrics") == "/metrics" for e in eps),
                "ServiceMonitor endpoints %r do not scrape the Service's port %r at /metrics" % (eps, port_names))
    if rule is None:
        return None
    spec = rule.get("spec") or {}
    alerts = {r.get("alert"): str(r.get("expr")) for g in spec.get("groups") or [] for r in g.get("rules") or []}
    for name, metric in REQUIRED_ALERTS.items():
        f.check(metric in alerts.get(name, ""), "no alert %s on %s (alerts: %s)" % (name, metric, sorted(alerts)))
    for name, expr in alerts.items():
        for job in re.findall(r'job="([^"]*)"', expr):
            f.check(base_service is not None and job == base_service["metadata"]["name"] and
                    sm is not None and not sm["spec"].get("jobLabel"),
                    "alert %s expects job=%r, but the ServiceMonitor's job is the Service name" % (name, job))

    work = tempfile.mkdtemp(prefix="aura-rules-")
    try:
        path = os.path.join(work, "prometheusrule-spec.yaml")
        with open(path, "w") as fh:
            yaml.safe_dump(spec, fh)
        out = run([promtool, "check", "rules", path])
        f.check(out.returncode == 0, "promtool check rules:\n%s%s" % (out.stdout, out.stderr))
        bare = json.loads(json.dumps(spec))
        for g in bare.get("groups") or []:
            for r in g.get("rules") or []:
                r.pop("annotations", None)
        with open(os.path.join(work, "rules.yaml"), "w") as fh:
            yaml.safe_dump(bare, fh)
        shutil.copy(alert_tests, os.path.join(work, "alerts_test.yaml"))
        out = run([promtool, "test", "rules", "alerts_test.yaml"], cwd=work)
        f.check(out.returncode == 0, "promtool test rules %s:\n%s%s" % (alert_tests, out.stdout, out.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return spec


# ---- main ---------------------------------------------------------------------------------------

def render(kubectl, path, f):
    out = run([kubectl, "kustomize", path])
    if not f.check(out.returncode == 0, "kubectl kustomize %s failed:\n%s" % (path, out.stderr)):
        return []
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--project-version", required=True)
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("--alert-tests", required=True)
    opts = ap.parse_args()
    opts.binary = os.path.abspath(opts.binary)
    f = Failures()
    for tool in (opts.kubectl, opts.promtool):
        if shutil.which(tool) is None:
            print("FAIL: %s not found (scripts/install-deps.sh installs it)" % tool)
            return 1

    # Plain files first: nothing under manifests/ may hold a secret value.
    kustomizations = []
    for dirpath, _, filenames in os.walk(opts.manifests):
        for n in sorted(filenames):
            if n in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
                kustomizations.append(os.path.relpath(dirpath, opts.manifests))
            if n.endswith((".yaml", ".yml")):
                p = os.path.join(dirpath, n)
                with open(p, encoding="utf-8") as fh:
                    try:
                        check_no_secret_values(list(yaml.safe_load_all(fh)), p, f)
                    except yaml.YAMLError as e:
                        f.check(False, "%s: not YAML: %s" % (p, e))
    for k in (BASE, GIT_SYNC, MONITORING):
        f.check(k in kustomizations, "no kustomization in manifests/%s" % k)

    rendered = {}
    for k in sorted(kustomizations):
        f.context = "manifests/" + k
        objects = render(opts.kubectl, os.path.join(opts.manifests, k), f)
        rendered[k] = objects
        check_no_secret_values(objects, "rendered", f)
        for o in objects:
            if o.get("kind") in WORKLOADS:
                check_hardened(o, f)
        print("manifests/%s: %s" % (k, ", ".join(ident(o) for o in objects)))

    base_service, spec_files = None, {}
    controllers = {}
    for k in (BASE, GIT_SYNC):
        objects = rendered.get(k) or []
        f.context = "manifests/" + k
        kinds = {o["kind"] for o in objects}
        need = {"Namespace", "ServiceAccount", "PersistentVolumeClaim", "Service", "Deployment"}
        if k == BASE:
            need.add("ConfigMap")
        f.check(need <= kinds, "missing kinds %s" % sorted(need - kinds))
        ns = [o for o in objects if o["kind"] == "Namespace"]
        for o in objects:
            if o["kind"] != "Namespace" and ns:
                f.check(o["metadata"].get("namespace") == ns[0]["metadata"]["name"],
                        "%s is not in namespace %s" % (ident(o), ns[0]["metadata"]["name"]))
        dep, c = check_controller_deployment(objects, k, opts.project_version, f)
        svc = check_service(objects, dep, f)
        if k == BASE:
            base_service = svc
            for cm in by_kind(objects, "ConfigMap"):
                spec_files.update(cm.get("data") or {})
            f.check(spec_files, "the spec ConfigMap is empty")
        controllers[k] = (objects, dep, c)

    f.context = "manifests/" + MONITORING
    rules = check_monitoring(rendered.get(MONITORING) or [], base_service, opts.promtool, opts.alert_tests, f) or {}

    # The shipped specs are valid, and the controller runs as each Deployment starts it.
    f.context = "manifests/" + BASE
    work = tempfile.mkdtemp(prefix="aura-specs-")
    try:
        for key, text in spec_files.items():
            with open(os.path.join(work, key), "w", encoding="utf-8") as fh:
                fh.write(text)
        out = run([opts.binary, "validate", work])
        f.check(out.returncode == 0, "aura-controller validate on the ConfigMap's specs:\n%s%s"
                % (out.stdout, out.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for k, (objects, dep, c) in controllers.items():
        f.context = "manifests/%s (running the controller)" % k
        if dep is not None and c is not None and spec_files:
            run_controller(opts.binary, objects, dep, c, spec_files, rules, k, f)

    if f.items:
        print("\nFAIL:")
        for item in f.items:
            print("  - " + item)
        return 1
    print("OK: %d kustomizations rendered and checked" % len(rendered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
