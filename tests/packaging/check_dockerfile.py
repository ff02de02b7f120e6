#!/usr/bin/env python3
"""Checks the Dockerfile against the built aura-controller binary, without a Docker engine.

Every shared library `ldd` reports for the binary is mapped to its Debian package (`dpkg -S`).
The package of each library the binary links directly (ELF NEEDED) must be named on the runtime
stage's `apt-get install` line; every other library's package must be installed by those
packages' Depends/Pre-Depends closure (as apt would). So adding a library dependency without
updating the Dockerfile fails here. Also checked: the build stage uses the project's install
script and CMake with tests and benchmarks off; the runtime stage copies only the binary, runs as
a numeric non-root USER, keeps its state on a VOLUME (read-only root filesystem), has
ENTRYPOINT ["/usr/local/bin/aura-controller", "run"], EXPOSE 9090, CA certificates and the OCI
labels, with the version label defaulting to the CMake project version.

Exit codes: 0 pass, 1 fail, 77 skipped (not a dpkg system: nothing to map libraries to).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import sys

from packaging_util import Failures, run

SKIP = 77
BINARY_IN_IMAGE = "/usr/local/bin/aura-controller"
# debian:12, debian:12-slim, debian:12.5-slim, debian:bookworm-slim, optionally @sha256:...
DEBIAN_12 = re.compile(
    r"^(docker\.io/(library/)?)?debian:(12|bookworm)([.\-][^:@]*)?(@sha256:[0-9a-f]{64})?$")
# Sanitizer runtimes appear only in AURA_SANITIZE builds, never in the image.
SANITIZER_PACKAGE = re.compile(r"^lib(asan|ubsan|tsan|lsan|hwasan)\d+$")


# ---- Dockerfile parsing ------------------------------------------------------------------------

def logical_lines(text):
    """Dockerfile instructions: comments dropped, backslash continuations joined."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and cur):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur.strip())
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_stages(text):
    """[{"from": image, "name": alias, "instructions": [(KEYWORD, rest)]}]"""
    stages = []
    for line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            image = [w for w in words if not w.startswith("--")][0]
            name = words[words.index("AS") + 1] if "AS" in words else (
                words[words.index("as") + 1] if "as" in words else None)
            stages.append({"from": image, "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, rest))
    return stages


def shell_commands(line):
    """Splits a RUN shell line into simple commands (on &&, ||, ;, |, &)."""
    commands, cur = [], []
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    for tok in lexer:
        if tok in ("&&", "||", ";", "|", "&"):
            if cur:
                commands.append(cur)
            cur = []
        else:
            cur.append(tok)
    if cur:
        commands.append(cur)
    return commands


def apt_installed_packages(stage):
    """Package names on the stage's `apt-get install` commands (version pins stripped)."""
    packages = []
    for keyword, rest in stage["instructions"]:
        if keyword != "RUN":
            continue
        for cmd in shell_commands(rest):
            if cmd and cmd[0] in ("apt-get", "apt") and "install" in cmd:
                for word in cmd[cmd.index("install") + 1:]:
                    if not word.startswith("-"):
                        packages.append(word.split("=")[0].split(":")[0])
    return packages


def exec_form(rest):
    """The JSON list of an exec-form ENTRYPOINT/CMD/VOLUME, or None (shell form)."""
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def instruction_values(stage, keyword):
    return [rest for k, rest in stage["instructions"] if k == keyword]


def key_values(rest):
    """ENV/LABEL/ARG `k=v k2="v 2"` pairs (the legacy `ENV k v` form too)."""
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) if "=" in w else (w, None) for w in words)


# ---- Debian packages -----------------------------------------------------------------------------

def ldd_libraries(binary):
    """{soname: path} from ldd; a "not found" library maps to None."""
    out = run(["ldd", binary])
    if out.returncode != 0:
        raise RuntimeError("ldd %s failed: %s" % (binary, out.stderr.strip()))
    libs = {}
    for line in out.stdout.splitlines():
        line = line.strip()
        m = re.match(r"^(\S+) => (not found|(\S+) \(0x[0-9a-f]+\))$", line)
        if m:
            libs[m.group(1)] = m.group(3)
            continue
        m = re.match(r"^(/\S+) \(0x[0-9a-f]+\)$", line)  # the dynamic loader
        if m:
            libs[os.path.basename(m.group(1))] = m.group(1)
        # linux-vdso.so.1 is the kernel's, no file.
    return libs


def needed_sonames(binary):
    out = run(["readelf", "-d", binary])
    if out.returncode != 0:
        raise RuntimeError("readelf -d %s failed: %s" % (binary, out.stderr.strip()))
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)


def candidate_paths(path):
    """`path` and its symlink target, each in both merged-/usr spellings (dpkg knows one)."""
    out = []
    for p in (path, os.path.realpath(path)):
        out += [p, p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p]
    return out


def owning_packages(paths):
    """{path: package} for every library path, from one `dpkg -S` run (it is slow per call)."""
    queries = sorted({c for p in paths for c in candidate_paths(p)})
    out = run(["dpkg", "-S"] + queries)  # exits 1 when some spelling is unknown: expected
    owner = {}
    for line in out.stdout.splitlines():
        if line.startswith("diversion by"):
            continue
        owners, sep, file = line.partition(": ")
        if sep:
            owner[file.strip()] = owners.split(",")[0].strip().split(":")[0]
    result = {}
    for p in paths:
        for c in candidate_paths(p):
            if c in owner:
                result[p] = owner[c]
                break
    return result


def installed_packages():
    """{package: {"provides": [...], "depends": [[alternative, ...], ...]}} of installed ones."""
    fmt = "${db:Status-Abbrev}\t${Package}\t${Provides}\t${Pre-Depends}\t${Depends}\n"
    out = run(["dpkg-query", "-W", "-f=" + fmt])
    packages = {}

    def names(field):
        groups = []
        for group in filter(None, (g.strip() for g in field.split(","))):
            groups.append([re.split(r"[\s(:]", alt.strip())[0] for alt in group.split("|")])
        return groups

    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or not parts[0].startswith("ii"):
            continue
        packages[parts[1]] = {
            "provides": [g[0] for g in names(parts[2])],
            "depends": names(parts[3]) + names(parts[4]),
        }
    return packages


def dependency_closure(roots, installed):
    providers = {}
    for name, info in installed.items():
        for virtual in info["provides"]:
            providers.setdefault(virtual, []).append(name)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen or p not in installed:
            continue
        seen.add(p)
        for group in installed[p]["depends"]:
            for alt in group:  # the first installed alternative, as apt would pick
                chosen = [alt] if alt in installed else providers.get(alt, [])
                if chosen:
                    todo.extend(chosen)
                    break
    return seen


# ---- checks ---------------------------------------------------------------------------------

def check_stages(stages, project_version, f):
    if not f.check(len(stages) >= 2,
                   "expected a multi-stage build, found %d stage(s)" % len(stages)):
        return
    build, runtime = stages[0], stages[-1]
    for stage in (build, runtime):
        image = stage["from"]
        f.check(DEBIAN_12.match(image) is not None,
                "stage FROM %r: expected debian:12 pinned by tag (debian:12, debian:12-slim, ...)"
                % image)
    f.check(runtime["from"].split("@")[0].endswith("-slim"),
            "runtime stage FROM %r: expected a -slim image" % runtime["from"])

    build_runs = " ".join(instruction_values(build, "RUN"))
    f.check("scripts/install-deps.sh --no-npm" in build_runs,
            "build stage: expected RUN scripts/install-deps.sh --no-npm")
    for flag in ("-DAURA_BUILD_TESTS=OFF", "-DAURA_BUILD_BENCH=OFF"):
        f.check(flag in build_runs, "build stage: cmake without %s" % flag)
    f.check("--target aura-controller" in build_runs,
            "build stage: expected cmake --build ... --target aura-controller")

    copies = instruction_values(runtime, "COPY") + instruction_values(runtime, "ADD")
    f.check(len(copies) == 1 and copies[0].startswith("--from=") and
            copies[0].split()[-1] == BINARY_IN_IMAGE,
            "runtime stage: expected exactly one COPY --from=<build> of the binary to %s, found %r"
            % (BINARY_IN_IMAGE, copies))

    users = instruction_values(runtime, "USER")
    user = users[-1] if users else ""
    m = re.match(r"^(\d+)(?::(\d+))?$", user)
    f.check(m is not None and int(m.group(1)) != 0 and (m.group(2) is None or int(m.group(2)) != 0),
            "runtime stage: USER must be a numeric non-root uid[:gid], found %r" % user)

    entry = instruction_values(runtime, "ENTRYPOINT")
    f.check(bool(entry) and exec_form(entry[-1]) == [BINARY_IN_IMAGE, "run"],
            "runtime stage: expected ENTRYPOINT [\"%s\", \"run\"], found %r"
            % (BINARY_IN_IMAGE, entry))
    cmd = instruction_values(runtime, "CMD")
    f.check(not cmd or exec_form(cmd[-1]) is not None,
            "runtime stage: CMD must be in exec form (JSON list), found %r" % cmd)

    ports = " ".join(instruction_values(runtime, "EXPOSE")).split()
    f.check("9090" in ports or "9090/tcp" in ports,
            "runtime stage: expected EXPOSE 9090, found %r" % ports)

    # State on a volume: everything the controller writes lives under one VOLUME.
    volumes = []
    for rest in instruction_values(runtime, "VOLUME"):
        volumes += exec_form(rest) or rest.split()
    env = {}
    for rest in instruction_values(runtime, "ENV"):
        env.update(key_values(rest))
    for var in ("AURA_STATE", "AURA_CREDENTIALS_DIR"):
        value = env.get(var, "")
        f.check(any(value.startswith(v.rstrip("/") + "/") for v in volumes),
                "runtime stage: ENV %s=%r is not under a VOLUME %r (the root filesystem is "
                "read-only)" % (var, value, volumes))

    labels = {}
    for rest in instruction_values(runtime, "LABEL"):
        labels.update(key_values(rest))
    for key in ("title", "description", "version", "revision", "source", "created"):
        f.check(labels.get("org.opencontainers.image." + key),
                "runtime stage: missing LABEL org.opencontainers.image.%s" % key)
    args = {}
    for rest in instruction_values(runtime, "ARG"):
        args.update(key_values(rest))
    version = labels.get("org.opencontainers.image.version", "")
    if version.startswith("${") and version.endswith("}"):
        version = args.get(version[2:-1]) or ""
    f.check(version == project_version,
            "runtime stage: the version label defaults to %r, the CMake project version is %r"
            % (version, project_version))


def check_libraries(binary, listed, ignore_sanitizers, f):
    libs = ldd_libraries(binary)
    needed = set(needed_sonames(binary))
    installed = installed_packages()
    closure = dependency_closure(listed, installed)
    owners = owning_packages([p for p in libs.values() if p])
    report = []
    for soname, path in sorted(libs.items()):
        if not f.check(path is not None, "ldd: %s not found" % soname):
            continue
        package = owners.get(path)
        if not f.check(package is not None, "dpkg -S: no package ships %s (%s)" % (path, soname)):
            continue
        if ignore_sanitizers and SANITIZER_PACKAGE.match(package):
            report.append("%-28s %-28s ignored (sanitizer runtime)" % (soname, package))
            continue
        direct = soname in needed
        report.append("%-28s %-28s %s" % (soname, package, "direct" if direct else "indirect"))
        if direct:
            f.check(package in listed,
                    "%s (linked directly) comes from %s, which the runtime stage's apt-get install "
                    "does not name" % (soname, package))
        else:
            f.check(package in closure,
                    "%s comes from %s, which no package the runtime stage installs depends on"
                    % (soname, package))
    for package in listed:
        f.check(package in installed,
                "runtime stage installs %r, which is not an installed package here (a typo?)"
                % package)
    print("libraries of %s:\n  %s" % (binary, "\n  ".join(report)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--binary", required=True, help="the built aura-controller")
    ap.add_argument("--project-version", required=True)
    ap.add_argument("--ignore-sanitizer-runtimes", action="store_true")
    opts = ap.parse_args()

    for tool in ("ldd", "readelf", "dpkg", "dpkg-query"):
        if shutil.which(tool) is None:
            print("SKIP: %s not found (the check needs a Debian system)" % tool)
            return SKIP

    f = Failures()
    with open(opts.dockerfile, encoding="utf-8") as fh:
        stages = parse_stages(fh.read())
    check_stages(stages, opts.project_version, f)
    listed = apt_installed_packages(stages[-1]) if stages else []
    print("runtime stage installs: %s" % " ".join(listed))
    f.check("ca-certificates" in listed, "runtime stage: ca-certificates is not installed")
    check_libraries(opts.binary, listed, opts.ignore_sanitizer_runtimes, f)

    return f.report("the runtime stage provides every library of %s" % opts.binary)


if __name__ == "__main__":
    sys.exit(main())
