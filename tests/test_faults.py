"""Faults: a trial that crashes, a driver that gets Ctrl-C, a write that is killed halfway,
and a second run that must give the same numbers."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import (
    REPO,
    assert_study_matches_the_trial_table,
    hooks_env,
    run_cli,
    start_cli,
)
from test_resume import finished_trials

from tune.results import write_atomic


def smoke(results, name, *extra, env=None):
    return run_cli(
        "tune.run",
        "--space",
        "smoke",
        "--name",
        name,
        "--results-dir",
        str(results),
        *extra,
        env_extra=env,
    )


def with_fault(spec: str, folder) -> dict:
    """The environment that makes tests/fault_injection/sitecustomize.py inject a fault."""
    folder.mkdir(parents=True, exist_ok=True)
    return hooks_env(TUNE_TEST_FAULT=spec, TUNE_TEST_FAULT_DIR=str(folder))


def test_a_trial_that_crashes_once_is_retried_and_the_search_completes(tmp_path):
    faults = tmp_path / "faults"
    done = smoke(tmp_path, "once", "--num-samples", "3", env=with_fault("2:once", faults))
    assert done.returncode == 0, done.stderr[-3000:]
    exp_dir = tmp_path / "once"
    faulted = (faults / "test_fault_trial").read_text()
    assert (faults / f"test_fault_raised_{faulted}").exists()  # the fault really happened
    trials = pd.read_csv(exp_dir / "trials.csv").set_index("trial_id")
    assert len(trials) == 3 and set(trials.status) <= {"COMPLETED", "STOPPED"}
    assert trials.loc[faulted, "epochs"] == 2
    # Retried from its epoch-1 checkpoint: epoch 1 was not trained again (from scratch it would be).
    epochs = [
        json.loads(line)["epoch"] for line in (exp_dir / "ray" / faulted / "result.json").open()
    ]
    assert epochs == [1, 2]


def test_a_trial_that_fails_every_retry_is_marked_and_the_search_still_finishes(tmp_path):
    faults = tmp_path / "faults"
    done = smoke(tmp_path, "always", "--num-samples", "3", env=with_fault("2:always", faults))
    assert done.returncode == 0, done.stderr[-3000:]
    exp_dir = tmp_path / "always"
    faulted = (faults / "test_fault_trial").read_text()
    trials = pd.read_csv(exp_dir / "trials.csv").set_index("trial_id")
    assert len(trials) == 3
    assert (
        trials.loc[faulted, "status"] == "ERROR"
        and "injected test fault" in trials.loc[faulted, "error"]
    )
    assert set(trials.drop(faulted).status) <= {"COMPLETED", "STOPPED"}
    assert (exp_dir / "best_config.json").is_file() and "ERROR" in (
        exp_dir / "summary.md"
    ).read_text()
    assert_study_matches_the_trial_table(exp_dir)  # FAIL in the study, not a value
    # The error is one line that says where its traceback is, not Ray's traceback on the console.
    failed = [
        line
        for line in done.stdout.splitlines()
        if line.startswith("trial ") and " failed: " in line
    ]
    assert (
        len(failed) == 1 and f"({faulted}) failed: RuntimeError: injected test fault" in failed[0]
    )
    assert (
        f"{exp_dir / 'ray' / faulted / 'error.txt'}" in failed[0]
        and (exp_dir / "ray" / faulted / "error.txt").is_file()
    )
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "fault, samples, said",
    # after the first pass: one trial (with two, the rung at pass 1 may stop one, which is no
    # failure)
    [("1:every", 2, "No trial finished an epoch: every"), ("2:every", 1, "Every")],
    ids=["in-the-first-pass", "after-the-first-pass"],
)
def test_a_search_whose_every_trial_fails_exits_non_zero_and_says_why(
    tmp_path, fault, samples, said
):
    done = smoke(
        tmp_path,
        "allfail",
        *("--num-samples", str(samples)),
        env=with_fault(fault, tmp_path / "faults"),
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{said} trial failed. First error: RuntimeError: injected test fault" in done.stdout
    trials = pd.read_csv(tmp_path / "allfail" / "trials.csv")
    assert len(trials) == samples and set(trials.status) == {"ERROR"}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_leaves_a_resumable_experiment_and_says_how(tmp_path, stop):
    """SIGTERM is what timeout, systemd and batch schedulers send: it must stop a search as
    Ctrl-C does."""
    driver = start_cli(
        "tune.run",
        "--space",
        "smoke",
        "--name",
        "stopped",
        "--num-samples",
        "3",
        "--max-concurrent",
        "1",
        "--results-dir",
        str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 300
    while not finished_trials(tmp_path / "stopped" / "ray"):
        assert driver.poll() is None and time.time() < deadline
        time.sleep(0.2)
    driver.send_signal(stop)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 130, output[-3000:]
    assert "python -m tune.run --resume --name stopped" in output and "Traceback" not in output
    # the results of what finished are written
    table = pd.read_csv(tmp_path / "stopped" / "trials.csv")
    ended = table.status.isin(["COMPLETED", "STOPPED"])
    # ... and it really stopped early: a trial not begun, or (if the signal came just as the last
    # one was created, as on a fast CPU) one not ended
    assert ended.any() and (len(table) < 3 or not ended.all())
    resumed = run_cli("tune.run", "--resume", "--name", "stopped", "--results-dir", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert len(pd.read_csv(tmp_path / "stopped" / "trials.csv")) == 3
    # the same study went on
    assert len(assert_study_matches_the_trial_table(tmp_path / "stopped")) == 3


def test_a_search_stopped_as_the_rungs_stop_a_trial_resumes_with_that_trials_result_in_the_study(
    tmp_path,
):
    """SIGTERM in the moment between the rungs' STOP of a trial (written to their file at once)
    and Ray's stop of it, which is when Ray hands the searcher that last result: on --resume the
    trial is stopped, and the study records the result it was stopped on (it once said "stopped
    before its first epoch", beside a table with its pass: one CI failure in seven)."""
    driver = start_cli(
        *("tune.run", "--space", "smoke", "--name", "cut", "--num-samples", "3"),
        *("--max-concurrent", "1", "--results-dir", str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rungs, deadline = tmp_path / "cut" / "scheduler_state.json", time.time() + 300
    while driver.poll() is None and time.time() < deadline:
        try:
            if json.loads(rungs.read_text()).get("stopped"):
                driver.send_signal(signal.SIGTERM)
                break
        except (OSError, json.JSONDecodeError):
            pass  # not written yet
        time.sleep(0.002)
    assert driver.wait(timeout=300) in (0, 130)
    resumed = run_cli("tune.run", "--resume", "--name", "cut", "--results-dir", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    table = pd.read_csv(tmp_path / "cut" / "trials.csv")
    assert len(table) == 3 and (table.status == "STOPPED").any()
    assert len(assert_study_matches_the_trial_table(tmp_path / "cut")) == 3


def test_a_write_killed_halfway_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "trials.csv"
    target.write_text("trial,val_loss\n0,0.5\n")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys; from pathlib import Path; from tune.results import write_atomic; "
                "write_atomic(Path(sys.argv[1]), 'trial,val_loss\\n' + '1,0.25\\n' * 100_000_000)"
            ),
            str(target),
        ],
        cwd=REPO,
    )
    deadline = time.time() + 120
    while (
        not list(tmp_path.glob(".trials.csv.*"))
        or list(tmp_path.glob(".trials.csv.*"))[0].stat().st_size == 0
    ):
        assert writer.poll() is None and time.time() < deadline, (
            "the writer finished before it could be killed"
        )
        time.sleep(0.01)
    writer.kill()
    writer.wait()
    assert pd.read_csv(target).to_dict("list") == {"trial": [0], "val_loss": [0.5]}


def test_same_seed_gives_the_same_split_and_the_same_trial_0(smoke_search, tmp_path):
    """A second run with the shared smoke search's seed (0) and schedule, alone this time, and
    with --verbose: Ray's own trial table and its workers' lines are back."""
    done = smoke(
        tmp_path, "again", "--num-samples", "1", "--max-passes", "2", "--seed", "0", "--verbose"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Configuration for experiment" in done.stdout and "Trial status" in done.stdout
    assert "Checkpoint successfully created" in done.stdout + done.stderr
    first, again = smoke_search[0], tmp_path / "again"
    assert (first / "manifest.csv").read_text() == (again / "manifest.csv").read_text()
    a, b = (pd.read_csv(d / "trials.csv").set_index("trial").loc[0] for d in (first, again))
    assert a["baseline"] and b["baseline"]
    # the same up to float rounding: alone, the baseline was given both CPUs
    # (tune/engine/scheduler.py), and two torch threads sum in another order than one
    assert a["best_val_loss"] == pytest.approx(b["best_val_loss"], rel=1e-3)
    assert a["last_train_acc"] == pytest.approx(b["last_train_acc"], abs=1 / 48)  # one image of 48


@pytest.mark.parametrize(
    "command,argv,message",
    [
        ("tune.trials", ["x", "--top", "0"], "--top: must be at least 1"),
        ("tune.trials", ["x", "--format", "xml"], "invalid choice: 'xml'"),
        ("tune.promote", ["x", "--top-k", "-1"], "--top-k: must be at least 1"),
        ("tune.promote", ["x", "--seeds", "many"], "expected a whole number, got 'many'"),
        ("tune.promote", ["x", "--seeds", "2"], "--seeds applies only with --top-k 2 or more"),
        (
            "tune.evaluate",
            ["--model", "nope.pt", "--data", "/nonexistent"],
            "--model nope.pt: no such file",
        ),
        (
            "tune.predict",
            ["--model", "nope.pt", "a.jpg", "--format", "xml"],
            "invalid choice: 'xml'",
        ),
        ("tune.predict", [], "the following arguments are required"),
        ("tune.run", ["--space", "smoke", "--max-concurrent", "x"], "expected a whole number"),
        ("tune.run", ["--space", "smoke", "--resume"], "--resume needs --name"),
    ],
)
def test_every_command_rejects_bad_flags_in_one_line(command, argv, message):
    done = run_cli(command, *argv)
    assert done.returncode == 2, done.stderr
    assert (
        message in done.stderr
        and len(done.stderr.strip().splitlines()) == 1
        and "Traceback" not in done.stderr
    )


def test_result_files_get_ordinary_permissions(tmp_path):
    """Atomic writes go through a private temporary file; the result must not stay private."""
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "summary.md", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "summary.md").stat().st_mode & 0o777 == 0o644


def test_ray_giving_up_mid_search_says_so_in_one_line_and_leaves_it_resumable(
    smoke_search, tmp_path, capsys
):
    """Ray's controller raises when, for one, its memory monitor kills a worker that is starting
    (seen here in a search of pretrained_dataset1): the search ends as if interrupted, results
    written, the reason in one line, no traceback, and --resume offered."""
    import shutil

    from tune import experiment, run
    from tune.engine.context import RunContext

    class RayGivesUp:
        # what guard() reads
        _local_tuner = SimpleNamespace(get_run_config=lambda: SimpleNamespace(callbacks=[]))

        def fit(self):
            raise RuntimeError(
                "Caught unexpected exception: 1 worker(s) were killed due to the node running "
                "low on memory.\nMemory on the node (IP: 127.0.0.1) was 22.35GB used"
            )

    exp_dir = tmp_path / "e2e"
    shutil.copytree(smoke_search[0], exp_dir)
    exp = replace(experiment.settings(exp_dir), finished=False, num_samples=5)  # 3 of 5 trials ran
    run_context = RunContext.for_experiment(exp_dir, experiment.ray_path(exp_dir), exp, None)
    assert run.fit_and_write(RayGivesUp(), run_context, exp, None) == 1
    out = capsys.readouterr().out
    assert "Ray stopped the search: Caught unexpected exception: 1 worker(s) were killed" in out
    assert "Memory on the node" not in out and "Traceback" not in out
    assert f"python -m tune.run --resume --name e2e --results-dir {tmp_path}" in out
    saved = experiment.settings(exp_dir)
    assert not saved.finished and saved.ended_by.startswith(
        "Ray stopping it: Caught unexpected exception"
    )
    assert (exp_dir / "trials.csv").is_file() and "Ray stopping it" in (
        exp_dir / "summary.md"
    ).read_text()
