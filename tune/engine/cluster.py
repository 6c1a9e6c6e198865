"""Where trials run: a Ray of our own on this machine, or a running cluster (`--address`).

A Ray that `tune.run` starts listens on 127.0.0.1 only and has no dashboard (Ray's job API has
no authentication: CVE-2023-48022). On a cluster, every node that runs trials must have this
project and its dependencies installed (`pip install -e .`, the same versions as the driver)
and must see the experiment's storage; `check_cluster` asks every such node before the search
starts, so a cluster that cannot run it is a one-line error and not a hang or a search of errors.
"""

import logging
import os
import uuid
from pathlib import Path

from tune.errors import UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
PROBE_TIMEOUT_S = 120


def start_ray(address: str | None, num_cpus: int, verbose: bool = False):
    """verbose: Ray's own logs and its workers' lines (e.g. every checkpoint saved) on the
    console; without it, tune/engine/progress.py says what happens and Ray only its errors."""
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    import ray

    if not address or address.rsplit(":", 1)[0] in LOOPBACK:
        # Ray binds its servers to the node IP; this switch makes that IP 127.0.0.1, as Ray does
        # on laptops, instead of the machine's network address, for our own Ray and for a driver
        # joining a cluster on this machine's loopback. Ray reads it as it is imported: in the
        # environment for the workers, and in this process, which may have imported Ray already
        # (a notebook, a benchmark), through its constant.
        from tune.engine import private

        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        private.loopback_node_ip()

    quiet = {} if verbose else {"log_to_driver": False}
    if not verbose:  # a trial's error is one line from tune/engine/progress.py, not Ray's traceback
        logging.getLogger("ray.tune").setLevel(logging.CRITICAL)
        logging.getLogger("ray.train").setLevel(logging.CRITICAL)
        # Ray's new console output prints its experiment box even when silent; the old one at
        # verbose=0 does not
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    level = "WARNING" if verbose else "ERROR"
    if not address:
        # "local": always a new Ray of our own, never one that happens to run on this machine
        return ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=False,
            logging_level=level,
            **quiet,
        )
    try:
        return ray.init(address=address, logging_level=level, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:200]
        raise UsageError(
            f"--address {address}: cannot join a Ray cluster there ({reason}); "
            f"start one with `ray start --head` (README, 'On a cluster')"
        ) from None


def probe_node(marker: str | None) -> str:
    """Runs on one node: can it run a trial (the project's code imports) and see the storage?"""
    import training.loop  # noqa: F401  the code a trial runs, with torch, torchvision, timm
    import tune.engine.trainable  # noqa: F401

    if marker and not os.path.exists(marker):
        return f"cannot see the storage folder {os.path.dirname(marker)}"
    return ""


def check_cluster(cpus_per_trial: int, storage_folder: Path | None) -> int:
    """How many trials the cluster can run at once; a one-line error for a cluster that can run
    none, a node that lacks the project's code, or a node that cannot see a local storage folder
    (`storage_folder`; None for a URI such as s3://, which Ray itself reaches from every node)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0]
    cpus = sorted(int(n["Resources"]["CPU"]) for n in nodes)
    if not cpus or cpus[-1] < cpus_per_trial:
        raise UsageError(
            f"no node of the Ray cluster offers {cpus_per_trial} CPU(s) for a trial (nodes with "
            f"CPUs: {cpus or 'none'}): lower --cpus-per-trial or add a node with more CPUs"
        )
    marker = None
    if storage_folder is not None:
        storage_folder.mkdir(parents=True, exist_ok=True)
        marker = storage_folder / f".node-check-{uuid.uuid4().hex}"
        marker.touch()
    try:
        probe = ray.remote(num_cpus=0, max_retries=0)(probe_node)
        answers = {
            n["NodeID"]: probe.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
            ).remote(str(marker) if marker else None)
            for n in nodes
        }
        ready, _ = ray.wait(
            list(answers.values()), num_returns=len(answers), timeout=PROBE_TIMEOUT_S
        )
        for node_id, answer in answers.items():
            node_address = next(n["NodeManagerAddress"] for n in nodes if n["NodeID"] == node_id)
            where = f"Ray node {node_id[:8]} ({node_address})"
            if answer not in ready:
                raise UsageError(
                    f"{where} did not answer within {PROBE_TIMEOUT_S} s: is it overloaded or "
                    "unreachable?"
                )
            try:
                problem = ray.get(answer)
            except Exception as error:  # the node could not even import the probe: no project there
                reason = str(error).strip().splitlines()[-1][:200]
                problem = (
                    f"cannot run this project's code ({reason}): pip install -e . there, as on "
                    "this machine"
                )
            if problem:
                hint = (
                    " (give --storage on a folder every node sees, or a URI)"
                    if "storage" in problem
                    else ""
                )
                raise UsageError(f"{where} {problem}{hint}")
    finally:
        if marker:
            marker.unlink(missing_ok=True)
    return sum(c // cpus_per_trial for c in cpus)
