#!/usr/bin/python3
"""config/seccomp-io_uring.json, enforced for real: the profile is compiled with libseccomp
(Debian's python3-seccomp) as a container runtime would, and lake-server started under it must
run on io_uring and serve, a large static file from the page cache (sendfile, after cachestat);
under the stock profile it was made from (the runtimes' default, which refuses io_uring and
cachestat) it must fall back to epoll, say why, and serve, that file read instead.

    tests/config/seccomp_profile_test.py build/test-release/server/lake-server
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request

import seccomp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(ROOT, "config", "seccomp-io_uring.json")
STOCK = "/usr/share/containers/seccomp.json"
IO_URING = {"io_uring_setup", "io_uring_enter", "io_uring_register"}
ADDED = IO_URING | {"cachestat"}
# What a container gets by default (Docker, Podman, containerd): rules that need more are left
# out, as the runtimes leave them out.
DEFAULT_CAPS = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
OPS = {"SCMP_CMP_EQ": seccomp.EQ, "SCMP_CMP_NE": seccomp.NE, "SCMP_CMP_LT": seccomp.LT,
       "SCMP_CMP_LE": seccomp.LE, "SCMP_CMP_GT": seccomp.GT, "SCMP_CMP_GE": seccomp.GE,
       "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ}


def applies(rule):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("caps") and not set(inc["caps"]) <= DEFAULT_CAPS:
        return False
    if inc.get("arches") and "amd64" not in inc["arches"]:
        return False
    if exc.get("caps") and set(exc["caps"]) & DEFAULT_CAPS:
        return False
    return not (exc.get("arches") and "amd64" in exc["arches"])


def compile_profile(profile):
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO", profile["defaultAction"]
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(profile.get("defaultErrnoRet", 1)))
    for rule in profile["syscalls"]:
        if not applies(rule):
            continue
        if rule["action"] == "SCMP_ACT_ALLOW":
            action = seccomp.ALLOW
        elif rule["action"] == "SCMP_ACT_ERRNO":
            action = seccomp.ERRNO(rule.get("errnoRet", 1))
        else:
            continue
        args = [seccomp.Arg(a["index"], OPS[a["op"]], a["value"], a.get("valueTwo", 0))
                for a in rule.get("args") or []]
        for name in rule["names"]:
            try:
                f.add_rule(action, name, *args)
            except (RuntimeError, ValueError, OSError):
                pass  # unknown to this libseccomp, or the default action already
    return f


def serve_under(profile):
    """lake-server's start line under `profile` and how its large static file went (sendfile or
    not_cached: lake_file_sends_total), after checking that it serves both and stops."""
    f = compile_profile(profile)
    with tempfile.TemporaryDirectory(prefix="lake-seccomp-") as tmp:
        data = bytes(range(256)) * 4096  # 1 MiB: more than one part of the response arena
        with open(os.path.join(tmp, "big.bin"), "wb") as fh:
            fh.write(data)
        conf = os.path.join(tmp, "lake.toml")
        with open(conf, "w") as fh:
            fh.write(f'[[static]]\nprefix = "/s"\nroot = "{tmp}"\n')
        p = subprocess.Popen([sys.argv[1], "--host", "127.0.0.1", "--port", "0", "--workers",
                              "1", "--config", conf],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=f.load,
                             text=True)
        try:
            line = p.stdout.readline()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) ", line)
            assert m, line
            base = f"http://127.0.0.1:{m.group(1)}"
            body = urllib.request.urlopen(base + "/plaintext", timeout=5).read()
            assert body == b"Hello, World!", body
            body = urllib.request.urlopen(base + "/s/big.bin", timeout=5).read()
            assert body == data, len(body)
            page = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
            sends = {how: int(n) for how, n in
                     re.findall(r'^lake_file_sends_total\{how="(\w+)"\} (\d+)$', page, re.M)}
        finally:
            p.send_signal(signal.SIGTERM)
            rest = p.communicate(timeout=10)[0]
    assert p.returncode == 0, (p.returncode, rest)
    return line, sends


def main():
    with open(SHIPPED) as fh:
        shipped = json.load(fh)
    allowed = [r for r in shipped["syscalls"]
               if r["action"] == "SCMP_ACT_ALLOW" and IO_URING & set(r["names"])]
    assert len(allowed) == 1 and set(allowed[0]["names"]) == ADDED, allowed
    line, sends = serve_under(shipped)
    assert "; io_uring: " in line, line
    assert sends == {"sendfile": 1, "not_cached": 0}, sends
    print("shipped profile: lake-server runs on io_uring and serves, a large file by sendfile")
    if os.path.exists(STOCK):
        with open(STOCK) as fh:
            stock = json.load(fh)
        # The shipped profile is the stock one and the io_uring rule, nothing else.
        assert [r for r in shipped["syscalls"] if r is not allowed[0]] == stock["syscalls"]
        line, sends = serve_under(stock)
        # That profile refuses with ENOSYS (defaultErrnoRet 38); Docker's with EPERM.
        assert "; epoll: " in line and "(io_uring refused: " in line, line
        # cachestat refused too: the file is read instead, and served all the same.
        assert sends == {"sendfile": 0, "not_cached": 1}, sends
        print("stock profile: lake-server falls back to epoll, says why, and serves (a large "
              "file read, not sent from the page cache)")
    print("seccomp profile: ok")


if __name__ == "__main__":
    main()
