#!/usr/bin/python3
"""lake-server built with ASan + UBSan (or TSan) under load: wrk (plaintext, pipelined, echo
bodies) and clients that disconnect mid-request and mid-response. Passes when every wrk run
had no socket errors, the server stopped cleanly on SIGTERM, and its stderr holds no sanitizer
report.

    tests/server/sanitized_load.py BUILD_DIR [seconds-per-run]
"""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
           "WARNING: ThreadSanitizer", "SUMMARY: ")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def wrk(port, seconds, path, script=None, args=()):
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "5s"]
    if script:
        cmd += ["-s", os.path.join(ROOT, "loadtest", script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if args:
        cmd += ["--"] + [str(a) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    errors = 0
    for line in out.splitlines():
        if "Socket errors" in line:
            errors = sum(int(x.split()[-1]) for x in line.split(":", 1)[1].split(","))
    requests = 0
    for line in out.splitlines():
        if "requests in" in line:
            requests = int(line.split()[0])
    return requests, errors, out


def scrape_while(port, busy):
    """Scrapes /metrics while `busy` (a thread) runs: the page is read from every worker's
    counters while they write them (a data race here is TSan's to find). Returns the last page,
    checked by the Prometheus text-format parser when python3-prometheus-client is there."""
    page = ""
    while busy.is_alive():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            page = data.split(b"\r\n\r\n", 1)[1].decode()
        except OSError:
            pass
        time.sleep(0.2)
    return page


def check_metrics_page(page):
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return "lake_http_requests_total" in page, "(prometheus_client not installed)"
    names = {f.name for f in text_string_to_metric_families(page)}
    return "lake_http_requests" in names and "lake_http_request_duration_seconds" in names, \
        f"({len(names)} families parsed)"


def rude_clients(port, rounds=300):
    """Connections cut mid-request (head, body) and mid-response (after a few bytes)."""
    rng = random.Random(7)
    body = b"b" * 300000
    for i in range(rounds):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            kind = i % 4
            if kind == 0:  # half a head
                s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Par")
            elif kind == 1:  # a body cut short
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\n\r\n")
                s.sendall(body[: rng.randrange(1, 200000)])
            elif kind == 2:  # a large response, abandoned after a few bytes
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\n\r\n" + body)
                s.recv(rng.randrange(1, 4096))
            else:  # pipelined requests, closed while the answers stream back
                s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n" * 64)
                s.recv(100)
            if rng.random() < 0.5:  # half of them reset instead of closing
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        except OSError:
            pass


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    binary = os.path.join(build, "server", "lake-server")
    port = free_port()
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    log = open(os.path.join(build, "sanitized-load.log"), "w+")
    proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                             "--max-connections", "256"],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    failures = []
    try:
        if not wait_listening(port, proc):
            failures.append("server did not start")
        else:
            for name, path, script, args in (("plaintext", "/plaintext", None, ()),
                                             ("pipelined x16", "/plaintext", "pipeline.lua", (16,)),
                                             ("echo 4 KiB", "/echo", "post.lua", (4096,))):
                result = {}
                busy = threading.Thread(target=lambda: result.update(
                    out=wrk(port, seconds, path, script, args)))
                busy.start()
                page = scrape_while(port, busy)
                busy.join()
                requests, errors, out = result["out"]
                ok, how = check_metrics_page(page)
                print(f"sanitized load {name}: /metrics scraped under load {how}")
                if not ok:
                    failures.append(f"metrics page under {name}")
                    print(page[:2000])
                print(f"sanitized load {name}: {requests} requests, {errors} socket errors")
                if requests == 0 or errors != 0:
                    failures.append(name)
                    print(out)
            rude_clients(port)
            requests, errors, _ = wrk(port, 1, "/plaintext")
            print(f"sanitized load after rude clients: {requests} requests, {errors} socket errors")
            if requests == 0 or errors != 0:
                failures.append("serving after rude clients")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "hung on SIGTERM"
    log.seek(0)
    text = log.read()
    if rc != 0:
        failures.append(f"exit status {rc}")
    if any(r in text for r in REPORTS):
        failures.append("sanitizer report")
    if failures:
        print(text[-8000:])
        sys.exit("sanitized load failed: " + ", ".join(failures))
    print("sanitized load: no sanitizer report, clean stop")


if __name__ == "__main__":
    main()
