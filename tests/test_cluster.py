"""A real two-node Ray cluster on this machine whose trial node cannot read the driver's files.

The head node offers no CPUs, so every trial runs on the second node. Both nodes are started in
their own mount namespace (`unshare -m`, root, as CI runs) with an empty tmpfs over the driver's
results folder, as if they were other machines: the images reach the trials only through Ray's
object store, and checkpoints only through the shared `--storage` folder. Everything listens on
and talks to 127.0.0.1; the cluster is ended by its session's processes, never `ray stop`
(which would end every Ray on the machine)."""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA_ROOT, REPO, assert_study_matches_the_trial_table, hooks_env, run_cli
from test_resume import finished_trials

import search_spaces

# Ray's token authentication, as the README asks of a cluster: one token for every node and
# the driver.
AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
ENV = {**os.environ, "TUNE_DATA_ROOT": str(DATA_ROOT), "RAY_USAGE_STATS_ENABLED": "0", **AUTH}


def processes_in_sessions(sessions: set) -> set:
    """Every process whose session is one of ours (the nodes are started with a session each)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) in sessions:
                pids.add(int(entry))
    return pids


def tcp_sockets(pids: set) -> list[tuple[str, str]]:
    """(local, peer) address of every TCP socket, listening or connected, of these processes."""
    found = []
    for line in subprocess.run(
        ["ss", "-tanpH"], capture_output=True, text=True
    ).stdout.splitlines():
        if {int(p) for p in re.findall(r"pid=(\d+)", line)} & pids:
            found.append(tuple(line.split()[3:5]))
    return found


def loopback(address: str) -> bool:
    return address.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:").startswith("127.")


# The cluster: a head offering no CPUs and trial nodes with the CPUs in TRIAL_NODES, built by
# Ray's own test helper in a process of its own, with Ray's switch that keeps every node on
# 127.0.0.1. A node that stops answering is declared dead after ~3 s (Ray's default: ~15 s).
CLUSTER = """
import json, os, time
from ray.cluster_utils import Cluster
health = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3}
head = {"num_cpus": 0, "include_dashboard": False, "_system_config": health}
cluster = Cluster(initialize_head=True, head_node_args=head)
for cpus in json.loads(os.environ["TRIAL_NODES"]):
    cluster.add_node(num_cpus=cpus, object_store_memory=512 * 1024 ** 2)
print(cluster.address, flush=True)
while True:
    time.sleep(60)
"""


def start_cluster(tmp_path, trial_nodes: list[int], env: dict | None = None):
    """(address, results folder hidden from the nodes, session ids of the cluster's processes).
    Every node lives in one mount namespace of its own, where an empty tmpfs covers the results
    folder."""
    results = tmp_path / "results"
    results.mkdir()
    command = f'mount -t tmpfs tmpfs "{results}" && exec "{sys.executable}" -c "$CLUSTER"'
    nodes = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        env={
            **ENV,
            **(env or {}),
            "CLUSTER": CLUSTER,
            "TRIAL_NODES": json.dumps(trial_nodes),
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        },
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    sessions, address = {nodes.pid}, None
    try:
        address = nodes.stdout.readline().strip()
        assert re.fullmatch(r"127\.0\.0\.1:\d+", address), f"the cluster did not start: {address!r}"
        yield address, results, sessions
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in processes_in_sessions(sessions):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(3)
        # Ray's helper wrote our address there: not left behind
        current = Path("/tmp/ray/ray_current_cluster")
        if current.is_file() and current.read_text().strip() == address:
            current.unlink()


@pytest.fixture
def cluster(tmp_path):
    """A head and one trial node with 2 CPUs."""
    yield from start_cluster(tmp_path, [2])


def test_a_search_on_a_cluster_whose_trial_node_cannot_see_the_drivers_files(cluster, tmp_path):
    address, results, sessions = cluster
    shared = tmp_path / "shared"
    # The nodes really cannot see the driver's results: their view of that folder is empty.
    (results / "visible_to_the_driver").touch()
    raylets = [
        p
        for p in processes_in_sessions(sessions)
        if open(f"/proc/{p}/comm").read().strip() == "raylet"
    ]
    assert len(raylets) == 2
    for raylet in raylets:
        assert os.readlink(f"/proc/{raylet}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        assert os.listdir(f"/proc/{raylet}/root{results}") == []

    # Without shared storage the search cannot checkpoint: one line, non-zero, nothing written.
    refused = run_cli(
        "tune.run",
        "--space",
        "smoke",
        "--name",
        "nostorage",
        "--address",
        address,
        "--results-dir",
        str(results),
        env_extra=AUTH,
    )
    assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert (
        len(refused.stderr.strip().splitlines()) == 1
        and "cannot see the storage folder" in refused.stderr
    )
    assert "--storage" in refused.stderr and not (results / "nostorage").exists()

    # The search, killed -9 after its first trial finished (the others wait at the first rung until
    # it closes, then end at once), then resumed.
    args = [
        "--space",
        "smoke",
        "--name",
        "c1",
        "--num-samples",
        "4",
        "--max-concurrent",
        "1",
        "--address",
        address,
        "--storage",
        str(shared),
        "--results-dir",
        str(results),
    ]
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune.run", *args],
        cwd=REPO,
        env=ENV,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sessions.add(driver.pid)
    deadline, sockets = time.time() + 300, []
    while len(finished_trials(shared / "c1")) < 1:
        assert driver.poll() is None, "the search ended before it could be killed"
        assert time.time() < deadline, "no trial finished in 5 minutes"
        sockets += tcp_sockets(processes_in_sessions(sessions))
        time.sleep(0.5)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    done_before = finished_trials(shared / "c1")
    assert len(done_before) < 4
    resumed = run_cli(
        "tune.run",
        "--resume",
        "--name",
        "c1",
        "--address",
        address,
        "--results-dir",
        str(results),
        env_extra=AUTH,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    exp_dir = results / "c1"
    trials = pd.read_csv(exp_dir / "trials.csv")
    assert len(trials) == 4 and set(trials.status) <= {"COMPLETED", "STOPPED"}
    # Ray's state went to --storage only
    assert not (exp_dir / "ray").exists() and (shared / "c1").is_dir()
    assert json.loads((exp_dir / "experiment.json").read_text())["storage"] == str(shared)
    # every trial ran on the trial node: the head has no CPU to offer
    for trial_id in trials.trial_id:
        assert (shared / "c1" / trial_id / "result.json").is_file()

    promoted = run_cli("tune.promote", "c1", "--results-dir", str(results))
    assert promoted.returncode == 0, promoted.stdout[-2000:] + promoted.stderr[-2000:]
    assert json.loads((exp_dir / "test_scores.json").read_text())["winner"][
        "checkpoint"
    ].startswith(str(shared))

    # Every socket of the cluster, the driver and its workers: on 127.0.0.1, to 127.0.0.1.
    assert len(sockets) > 10, "ss saw too few sockets of the cluster"
    for local, peer in sockets:
        assert loopback(local), f"a socket on {local}"
        # ":*": listening, no peer
        assert loopback(peer) or peer.endswith(":*"), f"a connection to {peer}"


def parent_and_children() -> dict[int, list[int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found.setdefault(int(fields[1]), []).append(int(entry))
    return found


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants: a node is its raylet and what the raylet started."""
    children, tree = parent_and_children(), [pid]
    for found in tree:
        tree += children.get(found, [])
    return tree


def working_in(pids: set, folder_name: str) -> int | None:
    """The process whose working folder is a trial's (Ray runs each trial in a folder named as
    the trial, tune/engine/search.py trial_folder_name)."""
    for pid in pids:
        try:
            if Path(os.readlink(f"/proc/{pid}/cwd")).name == folder_name:
                return pid
        except OSError:
            continue
    return None


def test_a_lost_node_restarts_its_trial_on_another_from_its_checkpoint(tmp_path):
    """Two trial nodes of 1 CPU each; once the baseline has saved its first pass, its node's
    processes (the raylet and everything it started) are killed -9, as a power cut or the OOM
    killer would. Ray restarts the trial on the other node from its checkpoint in --storage."""
    slow = hooks_env(TUNE_TEST_SLOW_EPOCH_S="4")  # a window to kill the node mid-trial
    nodes = start_cluster(tmp_path, [1, 1], env=slow)
    address, results, sessions = next(nodes)
    try:
        shared = tmp_path / "shared"
        args = ["--space", "smoke", "--name", "lost", "--num-samples", "4", "--address", address]
        driver = subprocess.Popen(
            [sys.executable, "-m", "tune.run", *args, "--storage", str(shared)]
            + ["--results-dir", str(results)],
            cwd=REPO,
            env={**ENV, **slow},
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        sessions.add(driver.pid)
        baseline = search_spaces.load("smoke").baseline
        deadline, worker = time.time() + 300, None
        while worker is None:
            assert driver.poll() is None, "the search ended before a node could be lost"
            assert time.time() < deadline, "the baseline saved no pass in 5 minutes"
            for params in shared.glob("lost/*/params.json"):
                trial = params.parent
                config = json.loads(params.read_text())
                saved = (trial / "result.json").is_file() and (trial / "result.json").read_text()
                if saved and all(config.get(k) == v for k, v in baseline.items()):
                    worker = working_in(processes_in_sessions(sessions), trial.name)
                    baseline_id = trial.name
            time.sleep(0.2)
        raylet = int(open(f"/proc/{worker}/stat").read().rsplit(")", 1)[1].split()[1])
        assert open(f"/proc/{raylet}/comm").read().strip() == "raylet"
        for pid in process_tree(raylet):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        out, err = driver.communicate(timeout=600)
    finally:
        nodes.close()  # the cluster's processes end
    assert driver.returncode == 0, out[-3000:] + err[-3000:]
    line = f"({baseline_id}) failed (its node or worker was lost): restarted from its checkpoint"
    assert line in out, out[-3000:]

    exp_dir = results / "lost"
    trials = pd.read_csv(exp_dir / "trials.csv").set_index("trial_id")
    assert len(trials) == 4 and set(trials.status) <= {"COMPLETED", "STOPPED"}
    assert trials.loc[baseline_id, "restarts"] == 1
    assert trials.loc[baseline_id, "restarted_after"] == "its node or worker was lost"
    assert (trials.drop(baseline_id).restarts == 0).all()
    # from its checkpoint: no pass trained twice, and all of them trained
    lines = (shared / "lost" / baseline_id / "result.json").read_text().splitlines()
    assert [json.loads(line)["passes"] for line in lines] == [1, 2]
    assert len(assert_study_matches_the_trial_table(exp_dir)) == 4
    summary = (exp_dir / "summary.md").read_text()
    assert f"`{baseline_id}`, its node or worker was lost)" in summary
