#!/usr/bin/python3
"""deploy/k8s: the manifests parse, and the fields the operations rely on are there (there is no
cluster here): probes on /healthz and /readyz, resources, the io_uring seccomp profile, a preStop
that lets the drain finish within the grace period, and a Service that selects the pods."""
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name):
    with open(os.path.join(ROOT, "deploy", "k8s", name)) as f:
        return yaml.safe_load(f)


def main():
    d = load("deployment.yaml")
    assert d["apiVersion"] == "apps/v1" and d["kind"] == "Deployment", d["kind"]
    pod = d["spec"]["template"]["spec"]
    labels = d["spec"]["template"]["metadata"]["labels"]
    assert d["spec"]["selector"]["matchLabels"].items() <= labels.items()
    profile = pod["securityContext"]["seccompProfile"]
    assert profile == {"type": "Localhost", "localhostProfile": "profiles/lake-io_uring.json"}
    (c,) = pod["containers"]
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
    assert f"{port}" in c["args"], c["args"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"]["port"] in ("http", port)
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= c["resources"][kind].keys(), c["resources"]
    pause = c["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    # The pause, then lake-server's drain ([timeouts] drain, 10 s), within the grace period.
    assert int(pause[1]) + 10 < pod["terminationGracePeriodSeconds"], pod
    s = load("service.yaml")
    assert s["kind"] == "Service" and s["spec"]["selector"].items() <= labels.items()
    assert s["spec"]["ports"][0]["targetPort"] in ("http", port)
    print("k8s manifests: ok")


if __name__ == "__main__":
    main()
