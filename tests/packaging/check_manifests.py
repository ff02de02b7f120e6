#!/usr/bin/env python3
"""Renders every kustomization under manifests/ with `kubectl kustomize` and checks the objects.

Everywhere (every rendered object and every YAML file in manifests/): no Secret carries data;
every pod runs hardened (numeric non-root user, read-only root filesystem, no privilege
escalation, all capabilities dropped, RuntimeDefault seccomp, requests and limits); secret-like
variables come from a secretKeyRef.
The base and the git-sync overlay: one replica, Recreate, the probes, the journal and credentials
on the PersistentVolumeClaim, the specs from the ConfigMap (base) or from git-sync's published
symlink (overlay), the Aura client id and secret from a file of the aura-api-credentials Secret
(--credentials-file on a read-only Secret volume of the controller alone, not readable by others;
no client secret in any environment variable), the metrics Service; the base ships no spec (its
ConfigMap holds only a README), manifests/examples replaces it with the example specs, which pass
`aura-controller validate`; and the built controller is started as each Deployment starts it
(run_as_deployed.py).
NetworkPolicy, in every controller kustomization: the controller pods' ingress only from the
monitoring namespace to the metrics port; egress only DNS (UDP and TCP 53), HTTPS (443, 6443) and
what the variant needs (etcd 2379 for HA, SSH 22 for git-sync-ssh); no rule without ports.
Every kustomization renders without warnings (current fields: resources, patches).
The HA overlay (overlays/ha): two replicas rolled one at a time, never on one node (required
hostname anti-affinity), a PodDisruptionBudget keeping one, no PersistentVolumeClaim, the etcd
endpoint from a secretKeyRef, the etcd TLS material and the credentials key from Secret volumes
mounted read-only, and the controller accepting the Deployment's args and env (`run --help`
parses and checks every flag).
Connection Secrets: every controller Deployment runs with --connection-secrets and mounts a
projected service account token (token, ca.crt, namespace at the in-cluster path, expiring) in the
controller container alone, read-only, with automounting off, so no other container (git-sync)
holds a token; a token is mounted exactly where the flag is on. manifests/connection-secrets holds
only Roles and RoleBindings: each Role allows exactly get, create, update, patch, delete on
secrets and nothing else, bound to the controller's ServiceAccount, one pair in every namespace
the example specs use; nothing anywhere is cluster-wide RBAC. The example app consumes, with
envFrom, the Secret that a spec of its namespace gets, and runs hardened.
The monitoring kustomization: the ServiceMonitor selects the Service's metrics port, the
PrometheusRule has the required alerts, and its spec passes `promtool check rules` and the alert
unit tests in alerts_test.yaml (`promtool test rules`).
"""
import argparse
import copy
import os
import re
import shutil
import sys
import tempfile

from packaging_util import (Failures, all_containers, by_kind, git_sync_flags, ident, is_git_sync,
                            labels_select, mount_for, one, parse_flags, pod_spec, run, setting,
                            spec_paths, volume)
from run_as_deployed import run_as_deployed

try:
    import yaml
except ImportError:
    print("FAIL: python3 cannot import yaml (scripts/install-deps.sh installs python3-yaml)")
    sys.exit(1)

BASE, GIT_SYNC, HA, MONITORING = "base", "overlays/git-sync", "overlays/ha", "monitoring"
SECRETS_RBAC = "connection-secrets"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SECRET_VERBS = {"get", "create", "update", "patch", "delete"}
RBAC_NAME = "aura-controller-connection-secrets"
CONTROLLER_KINDS = {"Namespace", "ServiceAccount", "PersistentVolumeClaim", "Service",
                    "Deployment"}
SECRET_NAME = "aura-api-credentials"
SECRET_KEY = "credentials"
EXAMPLES, GIT_SYNC_SSH = "examples", "overlays/git-sync-ssh"
EGRESS = {  # kustomization -> the (protocol, port) pairs its controller pods may reach
    None: {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443)},
    "overlays/ha": {("TCP", 2379)},
    GIT_SYNC_SSH: {("TCP", 22)},
}
REQUIRED_ALERTS = {  # alert -> the metric its expression must use
    "AuraDuplicateInstances": "aura_duplicate_instances",
    "AuraApiThrottled": "aura_api_throttled_total",
    "AuraReconcileFailing": "aura_reconcile_total",
    "AuraObservationsStale": "aura_observation_staleness_seconds",
    "AuraCreateStuckPending": "aura_instances",
    "AuraConnectionSecretsPending": "aura_connection_secrets_pending",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE")


# ---- everywhere ------------------------------------------------------------------------------

def check_no_secret_values(docs, where, f):
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "Secret":
            f.check(not d.get("data") and not d.get("stringData"),
                    "%s: %s carries data; reference Secrets, never commit them" % (where, ident(d)))


def check_hardened(obj, f):
    pod = pod_spec(obj)
    psc = pod.get("securityContext") or {}
    f.check(psc.get("runAsNonRoot") is True,
            "%s: pod securityContext.runAsNonRoot is not true" % ident(obj))
    f.check(isinstance(psc.get("fsGroup"), int),
            "%s: pod securityContext.fsGroup is not set (volumes would not be writable)"
            % ident(obj))
    for c in all_containers(pod):
        where = "%s container %s" % (ident(obj), c.get("name"))
        sc = c.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        f.check(isinstance(uid, int) and uid != 0,
                "%s: runAsUser must be a numeric non-root uid, is %r" % (where, uid))
        f.check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True,
                "%s: runAsNonRoot is not true" % where)
        f.check(sc.get("readOnlyRootFilesystem") is True,
                "%s: readOnlyRootFilesystem is not true" % where)
        f.check(sc.get("allowPrivilegeEscalation") is False,
                "%s: allowPrivilegeEscalation is not false" % where)
        f.check(not sc.get("privileged"), "%s: privileged" % where)
        f.check("ALL" in (caps.get("drop") or []), "%s: capabilities do not drop ALL" % where)
        f.check(not caps.get("add"), "%s: adds capabilities %r" % (where, caps.get("add")))
        f.check(seccomp == "RuntimeDefault",
                "%s: seccompProfile is %r, not RuntimeDefault" % (where, seccomp))
        resources = c.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                f.check(r in (resources.get(part) or {}),
                        "%s: no resources.%s.%s" % (where, part, r))
        for e in c.get("env") or []:
            if SECRET_LIKE.search(e.get("name", "").upper()):
                f.check("value" not in e, "%s: env %s has a literal value; use "
                        "valueFrom.secretKeyRef" % (where, e.get("name")))


# ---- the controller Deployment ---------------------------------------------------------------

def check_deployment(objects, variant, project_version, f):
    """Returns the Deployment and its controller container (None when missing)."""
    dep = one(objects, "Deployment", f)
    if dep is None:
        return None, None
    spec, pod = dep["spec"], pod_spec(dep)
    f.check(spec.get("replicas") == 1, "Deployment replicas is %r, not 1" % spec.get("replicas"))
    f.check((spec.get("strategy") or {}).get("type") == "Recreate",
            "Deployment strategy is %r, not Recreate (the journal has one writer)"
            % spec.get("strategy"))
    pod_labels = spec["template"]["metadata"].get("labels") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    f.check(labels_select(selector, pod_labels),
            "Deployment selector %r does not match the pod labels %r" % (selector, pod_labels))
    sa = one(objects, "ServiceAccount", f)
    if sa:
        f.check(pod.get("serviceAccountName") == sa["metadata"]["name"],
                "serviceAccountName %r is not the ServiceAccount %r"
                % (pod.get("serviceAccountName"), sa["metadata"]["name"]))
    f.check(pod.get("automountServiceAccountToken") is False,
            "the pod automounts a service account token into every container; only the "
            "controller may get one (a projected volume)")

    controllers = [c for c in pod.get("containers") or [] if c.get("name") == "controller"]
    if not f.check(len(controllers) == 1, "no container named controller"):
        return dep, None
    c = controllers[0]
    f.check("command" not in c, "the controller container sets command: the image's ENTRYPOINT "
            "(aura-controller run) must stay")
    image = c.get("image", "")
    f.check(re.match(r"^(.*/)?aura-controller:%s$" % re.escape(project_version), image),
            "controller image %r is not aura-controller:%s" % (image, project_version))
    check_port_and_probes(c, f)
    check_token_mount(dep, c, f)
    env = {e.get("name"): e for e in c.get("env") or []}
    check_api_credentials(pod, c, f)
    check_state_volume(objects, pod, c, env, f)
    paths = spec_paths(c)
    if f.check(len(paths) == 1, "expected one spec folder, found %r" % paths):
        m = mount_for(c, paths[0])
        if f.check(m is not None, "the spec folder %s is on no volume" % paths[0]):
            f.check(m.get("readOnly") is True, "the controller mounts its specs writable")
            if variant in (BASE, EXAMPLES):
                check_configmap_specs(objects, pod, m, paths[0], f)
            else:
                check_git_sync(objects, pod, m, paths[0], f)
    return dep, c


def check_api_credentials(pod, c, f):
    """The Aura client from --credentials-file on a read-only, group-only Secret volume."""
    for other in all_containers(pod):
        for e in other.get("env") or []:
            f.check(e.get("name") not in ("AURA_CLIENT_SECRET", "AURA_CLIENT_ID"),
                    "container %s: env %s; the Aura client comes from --credentials-file"
                    % (other.get("name"), e.get("name")))
    flags, _ = parse_flags(c.get("args") or [])
    path = flags.get("credentials-file")
    if not f.check(path and path.startswith("/"), "no --credentials-file=/absolute/path arg"):
        return
    m = mount_for(c, path)
    if not f.check(m is not None, "--credentials-file=%s is on no volume" % path):
        return
    f.check(m.get("readOnly") is True, "--credentials-file=%s is mounted writable" % path)
    secret = volume(pod, m["name"]).get("secret") or {}
    f.check(secret.get("secretName") == SECRET_NAME,
            "--credentials-file=%s is not on a volume of the Secret %s" % (path, SECRET_NAME))
    items = {i.get("key"): i.get("path") for i in secret.get("items") or []}
    rel = path[len(m["mountPath"].rstrip("/")) + 1:]
    f.check(items.get(SECRET_KEY) == rel,
            "the Secret's key %s is not the file %s (items %r)" % (SECRET_KEY, rel, items))
    mode = secret.get("defaultMode", 0o644)
    f.check(mode & 0o007 == 0, "the credentials volume's defaultMode %o lets others read it"
            % mode)
    for other in all_containers(pod):
        if other is c:
            continue
        f.check(all(x.get("name") != m["name"] for x in other.get("volumeMounts") or []),
                "container %s mounts the Aura client credentials" % other.get("name"))


def check_network_policy(k, objects, dep, f):
    """The controller pods: ingress from monitoring to metrics only; egress only EGRESS."""
    pod_labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    policies = [p for p in by_kind(objects, "NetworkPolicy")
                if labels_select((p["spec"].get("podSelector") or {}).get("matchLabels") or {},
                                 pod_labels)]
    if not f.check(policies, "no NetworkPolicy selects the controller pods"):
        return
    types = set()
    allowed = set()
    for p in policies:
        types |= set(p["spec"].get("policyTypes") or [])
        for rule in p["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            f.check(peers and all(
                set(peer) == {"namespaceSelector"} and
                (peer["namespaceSelector"].get("matchLabels") or {}) ==
                {"kubernetes.io/metadata.name": "monitoring"} for peer in peers),
                "%s: ingress from %r, expected the monitoring namespace only" % (ident(p), peers))
            ports = rule.get("ports") or []
            f.check(ports and all(x.get("port") in ("metrics", 9090) for x in ports),
                    "%s: ingress to ports %r, expected the metrics port only" % (ident(p), ports))
        for rule in p["spec"].get("egress") or []:
            ports = rule.get("ports") or []
            f.check(ports, "%s: an egress rule without ports allows everything" % ident(p))
            allowed |= {(x.get("protocol", "TCP"), x.get("port")) for x in ports}
    f.check({"Ingress", "Egress"} <= types,
            "the NetworkPolicies restrict %s, expected Ingress and Egress" % sorted(types))
    want = EGRESS[None] | EGRESS.get(k, set())
    f.check(allowed == want, "egress allows %s, expected exactly %s"
            % (sorted(allowed), sorted(want)))


def check_port_and_probes(c, f):
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    f.check(ports.get("metrics") == 9090, "no container port metrics: 9090 (found %r)" % ports)
    addr = setting(c, "metrics-addr", "AURA_METRICS_ADDR") or ":9090"
    f.check(addr.rsplit(":", 1)[-1] == "9090",
            "--metrics-addr %r does not serve the metrics port 9090" % addr)
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        f.check(get.get("path") == path and get.get("port") in ("metrics", 9090),
                "%s is %r, expected httpGet %s on the metrics port" % (probe, get, path))


def check_state_volume(objects, pod, c, env, f):
    """--state and --credentials-dir: passed as args, on one writable PersistentVolumeClaim."""
    pvcs = {p["metadata"]["name"]: p for p in by_kind(objects, "PersistentVolumeClaim")}
    flags, _ = parse_flags(c.get("args") or [])
    used = set()
    for flag, var in (("state", "AURA_STATE"), ("credentials-dir", "AURA_CREDENTIALS_DIR")):
        value = flags.get(flag)
        if not f.check(value and value.startswith("/"),
                       "args pass --%s=%r, expected an absolute path" % (flag, value)):
            continue
        m = mount_for(c, value)
        if not f.check(m is not None, "--%s=%s is on no volume (the root filesystem is "
                       "read-only)" % (flag, value)):
            continue
        claim = (volume(pod, m["name"]).get("persistentVolumeClaim") or {}).get("claimName")
        f.check(claim in pvcs, "--%s=%s is on volume %s, not a PersistentVolumeClaim of these "
                "manifests" % (flag, value, m["name"]))
        f.check(not m.get("readOnly"), "--%s=%s is on a read-only mount" % (flag, value))
        used.add(m["name"])
        literal = (env.get(var) or {}).get("value")
        f.check(literal in (None, value), "env %s=%r differs from --%s=%r (`kubectl exec ... "
                "aura-controller status` would read another journal)" % (var, literal, flag, value))
    f.check(len(used) <= 1, "journal and credentials are on different volumes %r" % used)
    for p in pvcs.values():
        f.check("ReadWriteOnce" in (p["spec"].get("accessModes") or []),
                "%s is not ReadWriteOnce" % ident(p))
        notes = p["metadata"].get("annotations") or {}
        f.check(notes.get("kustomize.toolkit.fluxcd.io/prune") == "disabled" and
                "Prune=false" in notes.get("argocd.argoproj.io/sync-options", ""),
                "%s may be pruned by Flux or Argo CD (it holds the only copy of passwords)"
                % ident(p))


def check_configmap_specs(objects, pod, mount, path, f):
    v = volume(pod, mount["name"])
    name = (v.get("configMap") or {}).get("name")
    f.check(name in {o["metadata"]["name"] for o in by_kind(objects, "ConfigMap")},
            "the spec volume %s is not a ConfigMap of these manifests (%r)" % (mount["name"], v))
    f.check(path.rstrip("/") == mount["mountPath"].rstrip("/"),
            "--specs %s is not the ConfigMap's mount %s" % (path, mount["mountPath"]))


def check_git_sync(objects, pod, specs_mount, specs_path, f):
    v = volume(pod, specs_mount["name"])
    f.check(set(v) == {"name", "emptyDir"},
            "the git-sync spec volume is %r, expected only an emptyDir" % v)
    sidecars = [c for c in pod.get("containers") or [] if is_git_sync(c)]
    inits = [c for c in pod.get("initContainers") or [] if is_git_sync(c)]
    f.check(len(sidecars) == 1 and len(inits) == 1,
            "expected one git-sync init container (the first clone, before the controller "
            "starts) and one git-sync sidecar, found %d and %d" % (len(inits), len(sidecars)))
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    repos = {git_sync_flags(gs, configmaps).get("repo") for gs in inits + sidecars}
    f.check(len(repos) == 1 and all(
        any((e.get("configMapRef") or {}).get("name") in configmaps
            for e in gs.get("envFrom") or []) and "--repo" not in " ".join(gs.get("args") or [])
        for gs in inits + sidecars),
        "the repository is not set in one place (a ConfigMap both git-sync containers read "
        "with envFrom, no --repo arg): found %r" % sorted(r or "" for r in repos))
    for gs in inits + sidecars:
        flags = git_sync_flags(gs, configmaps)
        where = "git-sync container %s" % gs.get("name")
        f.check(re.search(r":v4\.\d+\.\d+$", gs.get("image", "")),
                "%s: image %r is not a pinned git-sync v4" % (where, gs.get("image")))
        f.check(flags.get("repo"), "%s: no --repo" % where)
        root = flags.get("root", "")
        m = mount_for(gs, root or "/nonexistent")
        if not f.check(m is not None and m["name"] == specs_mount["name"] and
                       root.rstrip("/") == m["mountPath"].rstrip("/"),
                       "%s: --root %r is not the mount of the spec volume" % (where, root)):
            continue
        link = flags.get("link", "")
        f.check(link and "/" not in link, "%s: expected a plain --link name, found %r"
                % (where, link))
        published = specs_mount["mountPath"].rstrip("/") + "/" + link
        f.check(specs_path == published or specs_path.startswith(published + "/"),
                "the controller reads %s, not git-sync's published link %s"
                % (specs_path, published))
        f.check((flags.get("one-time") == "true") == (gs in inits),
                "%s: --one-time must be set on the init container only" % where)
        f.check(mount_for(gs, "/tmp") is not None,
                "%s: no writable /tmp (git needs one; the root filesystem is read-only)" % where)


def check_service(objects, dep, f):
    svc = one(objects, "Service", f)
    if svc is None or dep is None:
        return None
    pod_labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    selector = svc["spec"].get("selector") or {}
    f.check(labels_select(selector, pod_labels),
            "Service selector %r does not select the controller pod %r" % (selector, pod_labels))
    ports = {p.get("name"): p for p in svc["spec"].get("ports") or []}
    p = ports.get("metrics") or {}
    f.check(p.get("port") == 9090 and p.get("targetPort") in ("metrics", 9090),
            "Service has no port metrics 9090 -> metrics (found %r)" % list(ports.values()))
    f.check(svc["spec"].get("publishNotReadyAddresses") is True,
            "Service does not publish not-ready addresses: the metrics would vanish while "
            "/readyz fails, when they matter most")
    return svc


# ---- connection Secrets ----------------------------------------------------------------------

def connection_secrets_on(c):
    flags, _ = parse_flags(c.get("args") or [])
    value = flags.get("connection-secrets")
    if value is None:
        value = setting(c, "connection-secrets", "AURA_CONNECTION_SECRETS")
    return value in ("true", "1", "")


def check_token_mount(dep, c, f):
    """A projected token in the controller container alone, exactly when Secrets are on."""
    pod = pod_spec(dep)
    on = connection_secrets_on(c)
    f.check(on, "the controller runs without --connection-secrets (on in the in-cluster "
            "manifests)")
    token_volumes = [v for v in pod.get("volumes") or []
                     if any("serviceAccountToken" in src
                            for src in (v.get("projected") or {}).get("sources") or [])]
    f.check(pod.get("automountServiceAccountToken") is False and
            not any("secret" in v and v["secret"].get("secretName", "").endswith("-token")
                    for v in pod.get("volumes") or []),
            "a token reaches the pod some other way than the projected volume")
    if not on:
        f.check(not token_volumes, "a service account token is mounted although "
                "--connection-secrets is off")
        return
    if not f.check(len(token_volumes) == 1, "expected one projected service account token "
                   "volume, found %d" % len(token_volumes)):
        return
    v = token_volumes[0]
    sources = v["projected"]["sources"]
    token = next(src["serviceAccountToken"] for src in sources if "serviceAccountToken" in src)
    f.check(token.get("path") == "token", "the token is not at <mount>/token")
    f.check(isinstance(token.get("expirationSeconds"), int) and
            600 <= token["expirationSeconds"] <= 86400,
            "the token's expirationSeconds %r is not a bounded lifetime (600..86400)"
            % token.get("expirationSeconds"))
    paths = {i.get("path") for src in sources
             for i in ((src.get("configMap") or src.get("downwardAPI") or {}).get("items") or [])}
    f.check({"ca.crt", "namespace"} <= paths,
            "the projected volume lacks ca.crt or namespace (found %r)" % sorted(paths))
    for other in all_containers(pod):
        mounts = [m for m in other.get("volumeMounts") or [] if m.get("name") == v["name"]]
        if other is c:
            f.check(len(mounts) == 1 and mounts[0].get("mountPath") == TOKEN_PATH and
                    mounts[0].get("readOnly") is True,
                    "the controller does not mount the token read-only at %s (%r)"
                    % (TOKEN_PATH, mounts))
        else:
            f.check(not mounts, "container %s mounts the service account token"
                    % other.get("name"))


def check_secrets_rbac(objects, namespaces, f):
    """Roles allowing exactly the Secret verbs, bound to the controller, in every namespace."""
    kinds = {o["kind"] for o in objects}
    f.check(kinds <= {"Role", "RoleBinding"}, "only Roles and RoleBindings belong here, found %s"
            % sorted(kinds - {"Role", "RoleBinding"}))
    roles = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o
             for o in by_kind(objects, "Role")}
    bound = set()
    for ns, name in roles:
        rules = roles[(ns, name)].get("rules") or []
        f.check(len(rules) == 1, "Role %s/%s has %d rules, expected one" % (ns, name, len(rules)))
        for r in rules:
            f.check(r.get("apiGroups") == [""] and r.get("resources") == ["secrets"] and
                    set(r.get("verbs") or []) == SECRET_VERBS and
                    len(r.get("verbs") or []) == len(SECRET_VERBS),
                    "Role %s/%s allows %r, expected exactly %s on secrets"
                    % (ns, name, r, sorted(SECRET_VERBS)))
            f.check(set(r) <= {"apiGroups", "resources", "verbs"},
                    "Role %s/%s has rule fields %r" % (ns, name, sorted(r)))
    for b in by_kind(objects, "RoleBinding"):
        ns = b["metadata"].get("namespace")
        ref = b.get("roleRef") or {}
        ok = ref.get("kind") == "Role" and (ns, ref.get("name")) in roles
        f.check(ok, "RoleBinding %s/%s refers to %r, not a Role of these manifests in its "
                "namespace" % (ns, b["metadata"]["name"], ref))
        f.check(b.get("subjects") == [{"kind": "ServiceAccount", "name": "aura-controller",
                                       "namespace": "aura-system"}],
                "RoleBinding %s/%s binds %r, expected only the controller's ServiceAccount"
                % (ns, b["metadata"]["name"], b.get("subjects")))
        if ok:
            bound.add(ns)
    for ns in sorted(namespaces):
        f.check((ns, RBAC_NAME) in roles and ns in bound,
                "namespace %s has example specs but no Role %s bound to the controller"
                % (ns, RBAC_NAME))


def check_no_cluster_rbac(rendered, f):
    for k, objects in rendered.items():
        for o in objects:
            f.check(o.get("kind") not in ("ClusterRole", "ClusterRoleBinding"),
                    "manifests/%s renders %s: the controller needs no cluster-wide RBAC"
                    % (k, ident(o)))


def example_specs(root):
    """{namespace: {Secret names the example specs get}}."""
    out = {}
    for n in sorted(os.listdir(os.path.join(root, "examples"))):
        if not n.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(root, "examples", n), encoding="utf-8") as fh:
            for d in yaml.safe_load_all(fh):
                if not isinstance(d, dict) or d.get("kind") != "AuraInstance":
                    continue
                meta, spec = d.get("metadata") or {}, d.get("spec") or {}
                name = ((spec.get("connectionSecret") or {}).get("name") or
                        meta.get("name", "") + "-aura")
                out.setdefault(meta.get("namespace", "default"), set()).add(name)
    return out


def check_example_app(path, secrets, f):
    with open(path, encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    deps = by_kind(docs, "Deployment")
    if not f.check(len(deps) == 1, "%s: expected one Deployment" % path):
        return
    dep = deps[0]
    check_hardened(dep, f)
    ns = dep["metadata"].get("namespace", "default")
    refs = [e["secretRef"]["name"] for c in all_containers(pod_spec(dep))
            for e in c.get("envFrom") or [] if "secretRef" in e]
    f.check(refs, "%s: no container takes its environment from a Secret (envFrom secretRef)"
            % path)
    for r in refs:
        f.check(r in secrets.get(ns, set()),
                "%s: envFrom secretRef %s is not the Secret of a spec in namespace %s (%s)"
                % (path, r, ns, sorted(secrets.get(ns, set()))))


# ---- the high-availability overlay ---------------------------------------------------------

HA_STATE_SECRET = "aura-etcd"


def check_ha(objects, binary, project_version, f):
    kinds = {o["kind"] for o in objects}
    need = {"Namespace", "ServiceAccount", "Service", "Deployment", "PodDisruptionBudget",
            "ConfigMap"}
    f.check(need <= kinds, "missing kinds %s" % sorted(need - kinds))
    f.check("PersistentVolumeClaim" not in kinds,
            "a PersistentVolumeClaim is rendered: the HA state lives in etcd")
    dep = one(objects, "Deployment", f)
    if dep is None:
        return
    spec, pod = dep["spec"], pod_spec(dep)
    pod_labels = spec["template"]["metadata"].get("labels") or {}
    f.check(spec.get("replicas") == 2, "Deployment replicas is %r, not 2" % spec.get("replicas"))
    strategy = spec.get("strategy") or {}
    f.check(strategy.get("type") == "RollingUpdate" and
            (strategy.get("rollingUpdate") or {}).get("maxUnavailable") in (1, "1", "50%"),
            "strategy %r: expected RollingUpdate replacing one pod at a time" % strategy)
    anti = ((pod.get("affinity") or {}).get("podAntiAffinity") or {})
    required = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    f.check(any(t.get("topologyKey") == "kubernetes.io/hostname" and
                labels_select((t.get("labelSelector") or {}).get("matchLabels") or {},
                              pod_labels) for t in required),
            "no required pod anti-affinity on kubernetes.io/hostname selecting the controller "
            "pods: both could run on one node")
    for pdb in by_kind(objects, "PodDisruptionBudget"):
        sel = (pdb["spec"].get("selector") or {}).get("matchLabels") or {}
        f.check(labels_select(sel, pod_labels),
                "%s selector %r does not select the controller pods" % (ident(pdb), sel))
        f.check(pdb["spec"].get("minAvailable") in (1, "1") or
                pdb["spec"].get("maxUnavailable") in (1, "1"),
                "%s must keep one controller (minAvailable: 1)" % ident(pdb))
    for v in pod.get("volumes") or []:
        f.check("persistentVolumeClaim" not in v, "volume %s is a PersistentVolumeClaim"
                % v.get("name"))
    controllers = [c for c in pod.get("containers") or [] if c.get("name") == "controller"]
    if not f.check(len(controllers) == 1, "no container named controller"):
        return
    c = controllers[0]
    image = c.get("image", "")
    f.check(re.match(r"^(.*/)?aura-controller:%s$" % re.escape(project_version), image),
            "controller image %r is not aura-controller:%s" % (image, project_version))
    check_port_and_probes(c, f)
    check_token_mount(dep, c, f)
    env = {e.get("name"): e for e in c.get("env") or []}
    check_api_credentials(pod, c, f)
    flags, _ = parse_flags(c.get("args") or [])
    state_ref = ((env.get("AURA_STATE") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    f.check("state" not in flags and state_ref.get("name") == HA_STATE_SECRET,
            "the etcd endpoint must come from env AURA_STATE secretKeyRef %s (and no --state "
            "arg, which would win over it); found %r / %r"
            % (HA_STATE_SECRET, flags.get("state"), env.get("AURA_STATE")))
    f.check("credentials-dir" not in flags and "AURA_CREDENTIALS_DIR" not in env,
            "--credentials-dir / AURA_CREDENTIALS_DIR set: the credentials live in etcd")
    for flag in ("credentials-key-file", "etcd-ca", "etcd-cert", "etcd-key"):
        path = flags.get(flag)
        if not f.check(path and path.startswith("/"), "no --%s=/absolute/path" % flag):
            continue
        m = mount_for(c, path)
        if not f.check(m is not None, "--%s=%s is on no volume" % (flag, path)):
            continue
        f.check(m.get("readOnly") is True, "--%s=%s is mounted writable" % (flag, path))
        f.check("secret" in volume(pod, m["name"]),
                "--%s=%s is not on a Secret volume" % (flag, path))
    paths = spec_paths(c)
    if f.check(len(paths) == 1, "expected one spec folder, found %r" % paths):
        m = mount_for(c, paths[0])
        f.check(m is not None and m.get("readOnly") is True and
                "configMap" in volume(pod, m["name"]),
                "the specs are not a read-only ConfigMap mount")
    # The binary accepts these args and env: `run --help` parses and checks every flag.
    run_env = dict(os.environ)
    for e in c.get("env") or []:
        if "value" in e:
            run_env[e["name"]] = e["value"]
    run_env["AURA_STATE"] = "etcds://127.0.0.1:2379,127.0.0.2:2379/aura-controller"
    out = run([binary, "run"] + (c.get("args") or []) + ["--help"], env=run_env)
    f.check(out.returncode == 0, "aura-controller run %s --help (AURA_STATE=%s) refused the "
            "Deployment's flags:\n%s%s" % (" ".join(c.get("args") or []), run_env["AURA_STATE"],
                                           out.stdout[-500:], out.stderr))


# ---- monitoring ------------------------------------------------------------------------------

def check_monitoring(objects, service, promtool, alert_tests, f):
    """Returns the PrometheusRule's spec ({} when missing)."""
    sm = one(objects, "ServiceMonitor", f)
    rule = one(objects, "PrometheusRule", f)
    if sm and service:
        selector = (sm["spec"].get("selector") or {}).get("matchLabels") or {}
        labels = service["metadata"].get("labels") or {}
        f.check(labels_select(selector, labels),
                "ServiceMonitor selector %r does not select the Service %r" % (selector, labels))
        f.check(sm["metadata"].get("namespace") == service["metadata"].get("namespace") or
                sm["spec"].get("namespaceSelector"),
                "ServiceMonitor is not in the Service's namespace and has no namespaceSelector")
        port_names = {p.get("name") for p in service["spec"].get("ports") or []}
        eps = sm["spec"].get("endpoints") or []
        f.check(eps and all(e.get("port") in port_names and
                            e.get("path", "/metrics") == "/metrics" for e in eps),
                "ServiceMonitor endpoints %r do not scrape the Service's port %r at /metrics"
                % (eps, port_names))
    if rule is None:
        return {}
    spec = rule.get("spec") or {}
    alerts = {r.get("alert"): str(r.get("expr"))
              for g in spec.get("groups") or [] for r in g.get("rules") or []}
    for name, metric in REQUIRED_ALERTS.items():
        f.check(metric in alerts.get(name, ""),
                "no alert %s on %s (alerts: %s)" % (name, metric, sorted(alerts)))
    for name, expr in alerts.items():
        for job in re.findall(r'job="([^"]*)"', expr):
            f.check(service is not None and job == service["metadata"]["name"] and
                    sm is not None and not sm["spec"].get("jobLabel"),
                    "alert %s expects job=%r, but the ServiceMonitor's job is the Service name"
                    % (name, job))

    work = tempfile.mkdtemp(prefix="aura-rules-")
    try:
        path = os.path.join(work, "prometheusrule-spec.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(spec, fh)
        out = run([promtool, "check", "rules", path])
        f.check(out.returncode == 0, "promtool check rules:\n%s%s" % (out.stdout, out.stderr))
        # The unit tests pin expressions, labels and timing, not the annotations' prose.
        bare = copy.deepcopy(spec)
        for g in bare.get("groups") or []:
            for r in g.get("rules") or []:
                r.pop("annotations", None)
        with open(os.path.join(work, "rules.yaml"), "w", encoding="utf-8") as fh:
            yaml.safe_dump(bare, fh)
        shutil.copy(alert_tests, os.path.join(work, "alerts_test.yaml"))
        out = run([promtool, "test", "rules", "alerts_test.yaml"], cwd=work)
        f.check(out.returncode == 0, "promtool test rules %s:\n%s%s"
                % (alert_tests, out.stdout, out.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return spec


# ---- main ------------------------------------------------------------------------------------

def render(kubectl, path, f):
    out = run([kubectl, "kustomize", path])
    if not f.check(out.returncode == 0, "kubectl kustomize %s failed:\n%s" % (path, out.stderr)):
        return []
    f.check("Warning" not in out.stderr, "kubectl kustomize %s warns:\n%s" % (path, out.stderr))
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def scan_files(root, f):
    """Checks every YAML file for Secret values; returns the kustomization folders."""
    kustomizations = []
    for dirpath, _, filenames in os.walk(root):
        for n in sorted(filenames):
            if n in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
                kustomizations.append(os.path.relpath(dirpath, root))
            if n.endswith((".yaml", ".yml")):
                p = os.path.join(dirpath, n)
                with open(p, encoding="utf-8") as fh:
                    try:
                        check_no_secret_values(list(yaml.safe_load_all(fh)), p, f)
                    except yaml.YAMLError as e:
                        f.check(False, "%s: not YAML: %s" % (p, e))
    return sorted(kustomizations)


def validate_specs(binary, spec_files, f):
    work = tempfile.mkdtemp(prefix="aura-specs-")
    try:
        for key, text in spec_files.items():
            with open(os.path.join(work, key), "w", encoding="utf-8") as fh:
                fh.write(text)
        out = run([binary, "validate", work])
        f.check(out.returncode == 0, "aura-controller validate on the ConfigMap's specs:\n%s%s"
                % (out.stdout, out.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--binary", required=True, help="the built aura-controller")
    ap.add_argument("--project-version", required=True)
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("--alert-tests", required=True)
    opts = ap.parse_args()
    binary = os.path.abspath(opts.binary)
    for tool in (opts.kubectl, opts.promtool):
        if shutil.which(tool) is None:
            print("FAIL: %s not found (scripts/install-deps.sh installs it)" % tool)
            return 1
    f = Failures()

    kustomizations = scan_files(opts.manifests, f)
    for k in (BASE, EXAMPLES, GIT_SYNC, GIT_SYNC_SSH, HA, MONITORING, SECRETS_RBAC):
        f.check(k in kustomizations, "no kustomization in manifests/%s" % k)
    rendered = {}
    for k in kustomizations:
        f.context = "manifests/" + k
        rendered[k] = render(opts.kubectl, os.path.join(opts.manifests, k), f)
        check_no_secret_values(rendered[k], "rendered", f)
        for o in rendered[k]:
            if o.get("kind") in WORKLOADS:
                check_hardened(o, f)
        print("manifests/%s: %s" % (k, ", ".join(ident(o) for o in rendered[k])))

    service, spec_files, deployments = None, {}, {}
    for k in (BASE, EXAMPLES, GIT_SYNC, GIT_SYNC_SSH):
        f.context = "manifests/" + k
        objects = rendered.get(k) or []
        kinds = {o["kind"] for o in objects}
        need = CONTROLLER_KINDS | ({"ConfigMap"} if k in (BASE, EXAMPLES) else set())
        f.check(need <= kinds, "missing kinds %s" % sorted(need - kinds))
        for ns in by_kind(objects, "Namespace"):
            for o in objects:
                f.check(o["kind"] == "Namespace" or
                        o["metadata"].get("namespace") == ns["metadata"]["name"],
                        "%s is not in namespace %s" % (ident(o), ns["metadata"]["name"]))
        dep, c = check_deployment(objects, k, opts.project_version, f)
        svc = check_service(objects, dep, f)
        if dep is not None:
            check_network_policy(k, objects, dep, f)
        files = {}
        for cm in by_kind(objects, "ConfigMap"):
            if cm["metadata"]["name"] == "aura-specs":
                files.update({n: t for n, t in (cm.get("data") or {}).items()
                              if n.endswith((".yaml", ".yml"))})
        if k == BASE:
            service = svc
            f.check(not files, "the base ships specs %s; it must ship none (the examples "
                    "overlay shows where yours go)" % sorted(files))
        if k == EXAMPLES:
            spec_files = files
            f.check(spec_files, "the examples' spec ConfigMap holds no spec")
        if dep is not None and c is not None and k != GIT_SYNC_SSH:
            deployments[k] = (objects, dep, c, files)

    f.context = "manifests/" + SECRETS_RBAC
    secrets = example_specs(opts.manifests)
    check_secrets_rbac(rendered.get(SECRETS_RBAC) or [], set(secrets), f)
    check_no_cluster_rbac(rendered, f)
    check_example_app(os.path.join(opts.manifests, SECRETS_RBAC, "example-app.yaml"), secrets, f)

    f.context = "manifests/" + HA
    ha_objects = rendered.get(HA) or []
    for ns in by_kind(ha_objects, "Namespace"):
        for o in ha_objects:
            f.check(o["kind"] == "Namespace" or
                    o["metadata"].get("namespace") == ns["metadata"]["name"],
                    "%s is not in namespace %s" % (ident(o), ns["metadata"]["name"]))
    check_ha(ha_objects, binary, opts.project_version, f)
    ha_dep = one(ha_objects, "Deployment", f)
    check_service(ha_objects, ha_dep, f)
    if ha_dep is not None:
        check_network_policy(HA, ha_objects, ha_dep, f)

    f.context = "manifests/" + MONITORING
    rules = check_monitoring(rendered.get(MONITORING) or [], service, opts.promtool,
                             opts.alert_tests, f)

    f.context = "manifests/" + BASE
    validate_specs(binary, spec_files, f)
    for k, (objects, dep, c, files) in sorted(deployments.items()):
        f.context = "manifests/%s (the controller run as deployed)" % k
        # git-sync: the example specs in the repository; a ConfigMap: its own files.
        run_as_deployed(binary, objects, dep, c, spec_files if k == GIT_SYNC else files, {},
                        rules, f)

    f.context = ""
    return f.report("%d kustomizations rendered and checked" % len(rendered))


if __name__ == "__main__":
    sys.exit(main())
