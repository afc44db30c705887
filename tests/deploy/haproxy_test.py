#!/usr/bin/python3
"""deploy/haproxy.cfg, unchanged, in front of two lake-servers on loopback with a self-signed
certificate made now (openssl): HTTPS requests reach both instances (each names itself in its
Server header); then one instance is killed (SIGKILL) while clients
keep sending, and once its health check has failed no request fails.

    tests/deploy/haproxy_test.py build/test-release/server/lake-server
"""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(ROOT, "deploy", "haproxy.cfg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def lake(binary, tmp, name):
    port = free_port()
    cfg = os.path.join(tmp, f"{name}.toml")
    with open(cfg, "w") as f:
        f.write(f'[server]\nname = "{name}"\n')
    p = subprocess.Popen([binary, "--config", cfg, "--host", "127.0.0.1", "--port", str(port),
                          "--workers", "1", "--no-pin"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p, port


class Clients:
    """Threads sending GET /plaintext over keep-alive HTTPS connections to HAProxy, recording
    (time, server name or None on failure)."""

    def __init__(self, port, context, n=4):
        self.port, self.context, self.results, self.stop = port, context, [], False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(n)]
        for t in self.threads:
            t.start()

    def run(self):
        conn = None
        while not self.stop:
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                       context=self.context, timeout=5)
                conn.request("GET", "/plaintext", headers={"Host": "example.test"})
                r = conn.getresponse()
                body = r.read()
                ok = r.status == 200 and body == b"Hello, World!"
                who = r.getheader("Server") if ok else None
            except (OSError, http.client.HTTPException):
                who, conn = None, None
            with self.lock:
                self.results.append((time.time(), who))

    def join(self):
        self.stop = True
        for t in self.threads:
            t.join()
        return self.results


def main():
    binary = sys.argv[1]
    if shutil.which("haproxy") is None or shutil.which("openssl") is None:
        sys.exit("haproxy and openssl are needed (scripts/deps installs them)")
    tmp = tempfile.mkdtemp(prefix="lake-haproxy-")
    procs = []
    try:
        key, crt, pem = (os.path.join(tmp, n) for n in ("key.pem", "crt.pem", "both.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=example.test", "-addext", "subjectAltName=DNS:example.test",
                        "-keyout", key, "-out", crt], check=True, capture_output=True)
        with open(pem, "w") as f:
            f.write(open(crt).read() + open(key).read())
        (one, port1), (two, port2) = lake(binary, tmp, "lake1"), lake(binary, tmp, "lake2")
        procs += [one, two]
        https = free_port()
        env = dict(os.environ, LAKE_TLS_BIND=f"127.0.0.1:{https}", LAKE_TLS_CERT=pem,
                   LAKE_SERVER_1=f"127.0.0.1:{port1}", LAKE_SERVER_2=f"127.0.0.1:{port2}")
        subprocess.run(["haproxy", "-c", "-f", CFG], check=True, env=env, capture_output=True)
        ha = subprocess.Popen(["haproxy", "-db", "-f", CFG], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ha)
        wait_port(https, ha)
        time.sleep(2.5)  # both instances pass their first health checks (rise 2, every second)

        context = ssl.create_default_context(cafile=crt)
        context.check_hostname = False  # the certificate names example.test; we dial 127.0.0.1
        conn = http.client.HTTPSConnection("127.0.0.1", https, context=context, timeout=5)
        seen = set()
        for _ in range(20):
            conn.request("GET", "/plaintext", headers={"Host": "example.test"})
            r = conn.getresponse()
            assert r.status == 200 and r.read() == b"Hello, World!", r.status
            seen.add(r.getheader("Server"))
        assert seen == {"lake1", "lake2"}, seen
        print("HTTPS through HAProxy reaches both instances")

        clients = Clients(https, context)
        time.sleep(1.0)
        killed_at = time.time()
        one.send_signal(signal.SIGKILL)
        one.wait()
        time.sleep(4.0)  # the health check fails twice, a second apart; then clients go on
        results = clients.join()
        down_by = killed_at + 2.5
        before = [w for t, w in results if t < killed_at]
        failed_early = sum(1 for t, w in results if killed_at <= t < down_by and w is None)
        after = [w for t, w in results if t >= down_by]
        assert before and None not in before, "failures before the kill"
        assert after, "no request after the health check failed"
        failed = after.count(None)
        assert failed == 0, f"{failed} of {len(after)} requests failed after the check failed"
        assert set(after) == {"lake2"}, set(after)
        print(f"lake1 killed: {len(after)} requests after its health check failed, 0 failed "
              f"({failed_early} failed between the kill and the check; {len(before)} before)")
        print("haproxy: ok")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
