"""What does a cluster cost? The same `smoke` search timed twice: on a Ray that `tune.run` starts
for itself, and on a two-node Ray cluster on this machine (Ray's own `cluster_utils.Cluster`, all
on 127.0.0.1, the head offering no CPUs, the trial node 2) with `--address` and `--storage`.
Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/cluster_smoke.py
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

from training import precision

CLUSTER = """
import time
from ray.cluster_utils import Cluster
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
cluster.add_node(num_cpus=2)
print(cluster.address, flush=True)
while True:
    time.sleep(60)
"""


def timed_search(*flags) -> float:
    started = time.time()
    subprocess.run(
        [sys.executable, "-m", "tune.run", "--space", "smoke", *flags],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.time() - started


def main() -> None:
    print(
        f"CPU: {precision.cpu_capabilities()}; trials compute in {precision.choose().describe()}",
        flush=True,
    )
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    with tempfile.TemporaryDirectory() as folder:
        single = timed_search("--name", "single", "--results-dir", f"{folder}/results")
        print(f"smoke search, a Ray of its own:       {single:.1f} s (whole command)", flush=True)
        nodes = subprocess.Popen(
            [sys.executable, "-c", CLUSTER],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            stderr=subprocess.DEVNULL,  # its shutdown complains when killed
            start_new_session=True,
        )
        try:
            address = nodes.stdout.readline().strip()
            on_cluster = timed_search(
                "--name",
                "cluster",
                "--results-dir",
                f"{folder}/results",
                "--address",
                address,
                "--storage",
                f"{folder}/shared",
            )
        finally:
            os.killpg(nodes.pid, signal.SIGTERM)  # this cluster's processes only, never `ray stop`
            nodes.wait()
        print(
            f"smoke search, two-node cluster ({address}): {on_cluster:.1f} s (whole command; the "
            "cluster was started before it)"
        )


if __name__ == "__main__":
    main()
