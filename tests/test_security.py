"""A Ray that we start listens on loopback only and runs no dashboard (CVE-2023-48022)."""

import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

# Start Ray exactly as `tune.run` does, run one task so a worker exists, then list every
# listening TCP socket owned by this process or its descendants (gcs_server, raylet, workers).
PROBE = textwrap.dedent("""
    import os, re, subprocess
    from tune.engine.cluster import start_ray
    context = start_ray(None, 1)
    import ray
    assert ray.get(ray.remote(lambda: 1).remote()) == 1
    def children(pid):
        kids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(p) == pid]
        return kids + [g for k in kids for g in children(k)]
    def _ppid(p):
        try:
            return int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None
    ours = {os.getpid(), *children(os.getpid())}
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    for line in listening.splitlines():
        pids = {int(p) for p in re.findall(r"pid=(\\d+)", line)}
        if pids & ours:
            print("LISTEN", line.split()[3])
    print("dashboard", repr(context.dashboard_url))
    ray.shutdown()
""")


@pytest.mark.parametrize("before", ["", "import ray\n"], ids=["as-tune-run", "ray-imported-first"])
def test_our_ray_listens_on_loopback_only_without_dashboard(before):
    """Also in a program that imported Ray before (a notebook, a benchmark, a test), when the
    environment switch tune/engine/cluster.py sets is read too late."""
    done = subprocess.run(
        [sys.executable, "-c", before + PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    addresses = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("LISTEN")]
    assert len(addresses) >= 3  # gcs_server, raylet, a worker: the probe really saw Ray's sockets
    for address in addresses:
        host = address.rsplit(":", 1)[0].strip("[]")
        assert host in {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, f"Ray listens on {address}"
    assert "dashboard ''" in done.stdout or "dashboard None" in done.stdout
