"""A full disk: a search that clearly cannot fit is refused before anything is written; one that
runs out of space mid-way ends in one line (exit 1), keeps every trial that had finished, the
baseline among them, and `--resume` finishes it once space is freed.

On a real small filesystem: a tmpfs that each test mounts and removes itself. That needs root;
without it these tests fail (never skip): a full disk cannot be faked otherwise."""

import contextlib
import errno
import io
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import (
    DATA_ROOT,
    FIRST_EXPERIMENT_JSON,
    assert_study_matches_the_trial_table,
    hooks_env,
    one_at_a_time,
    run_cli,
    run_in_process,
    start_cli,
)
from test_resume import finished_trials


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    """A filesystem of `size` of its own at `folder`, unmounted afterwards."""
    assert os.geteuid() == 0, "the full-disk tests mount a tmpfs: run them as root"
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "m", str(folder)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs on {folder}: {mounted.stderr.strip()}"
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(folder)], check=True)  # still busy: detach it


def fill(folder: Path) -> Path:
    """A ballast file that takes every free byte of the filesystem."""
    ballast = folder / "ballast"
    with open(ballast, "wb", buffering=0) as file:
        for chunk in (b"\0" * 2**20, b"\0" * 4096):
            try:
                while True:
                    file.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return ballast


def test_a_search_that_clearly_cannot_fit_is_refused_before_anything_is_written(tmp_path, capsys):
    from tune import run

    with tmpfs(tmp_path / "disk", "4m") as disk:
        code, out, err = run_in_process(
            capsys,
            run.main,
            "--space",
            "smoke",
            "--name",
            "tiny",
            "--num-samples",
            "3",
            "--max-passes",
            "2",
            "--results-dir",
            str(disk),
            "--data-root",
            str(DATA_ROOT),
        )
        left = sorted(p.name for p in disk.iterdir())
    assert code == 2, out[-2000:] + err[-2000:]
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err, err
    assert f"not enough space for this search in {disk}: " in err
    free, needed = re.search(r": ([\d.]+) MB free, it needs about ([\d.]+) MB", err).groups()
    assert float(free) <= 4 < 40 < float(needed)  # 3 checkpoints of the report's CNN alone: 41 MB
    assert "3 trials' checkpoints of about 13 MB each" in err  # 13.1 MiB each, measured
    assert left == []  # nothing written, not even a staging folder


def test_a_full_disk_mid_search_ends_in_one_line_and_resume_finishes_it(tmp_path):
    with tmpfs(tmp_path / "disk", "150m") as disk:
        exp_dir, out, err = disk / "full", tmp_path / "driver.out", tmp_path / "driver.err"
        with open(out, "w") as stdout, open(err, "w") as stderr:
            # a window after the first trial
            driver = start_cli(
                *one_at_a_time("full", disk),
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                env_extra=hooks_env(TUNE_TEST_SLOW_EPOCH_S="2"),
            )
            try:
                deadline = time.time() + 300
                while not (finished := finished_trials(exp_dir / "ray")):
                    assert driver.poll() is None, "the search ended before its first trial did"
                    assert time.time() < deadline, "no trial finished in 5 minutes"
                    time.sleep(0.1)
                ballast = fill(disk)  # the disk is full from here on
                driver.wait(timeout=300)
            finally:
                if driver.poll() is None:
                    os.killpg(driver.pid, signal.SIGKILL)
        output, errors = out.read_text(), err.read_text()
        assert driver.returncode == 1, output[-3000:] + errors[-3000:]
        assert "Traceback" not in output + errors, errors[-3000:]
        # one line: where, why, the space, and how to continue
        assert len(errors.strip().splitlines()) == 1, errors[-3000:]
        line = errors.strip()
        assert line.startswith(f"error: the search could not write to {exp_dir} (")
        reasons = "No space left on device|Database or disk is full|Disk i/o error"
        assert re.search(rf"\(({reasons}); [\d.]+ MB free there", line), line
        assert line.endswith(
            f"free space, then continue it with python -m tune.run --resume "
            f"--name full --results-dir {disk}"
        )
        # resumable: unfinished, every file whole, every finished trial in the table
        assert json.loads((exp_dir / "experiment.json").read_text())["finished"] is False
        assert not [p.name for p in exp_dir.glob(".*.tmp")]  # no half-written file of ours
        for state in (exp_dir / "ray").glob("experiment_state-*.json"):
            json.loads(state.read_text())  # Ray's state: whole
        listed = run_cli("tune.trials", "full", "--results-dir", str(disk), "--format", "csv")
        assert listed.returncode == 0, listed.stderr[-3000:]
        assert finished <= set(pd.read_csv(io.StringIO(listed.stdout)).trial_id)

        ballast.unlink()  # space freed
        resumed = run_cli("tune.run", "--resume", "--name", "full", "--results-dir", str(disk))
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert "Traceback" not in resumed.stdout + resumed.stderr
        table = pd.read_csv(exp_dir / "trials.csv")
        assert len(table) == 3 and table.trial_id.is_unique
        assert finished <= set(table.trial_id)  # nothing that had finished was lost
        assert set(table.status) <= {"COMPLETED", "STOPPED"}
        baseline = table[table.baseline]
        assert len(baseline) == 1 and baseline.trial_id.iloc[0] in finished
        assert baseline.status.iloc[0] == "COMPLETED"
        assert len(assert_study_matches_the_trial_table(exp_dir)) == 3
        assert json.loads((exp_dir / "experiment.json").read_text())["finished"] is True


def test_rays_state_is_copied_whole_or_not_at_all(tmp_path):
    """Ray's state reaches the experiment through Ray's own syncer, as a search's guard has set it
    up (tune/engine/write_guard.py): a copy that does not fit leaves the last whole state, with the
    searcher's state that goes with it, and no half file. (Ray's own copy overwrites in place.)"""
    from pyarrow.fs import LocalFileSystem
    from ray.train._internal.storage import _FilesystemSyncer

    from tune.engine import write_guard

    tuner = SimpleNamespace(_local_tuner=SimpleNamespace(get_run_config=lambda: run_config))
    run_config = SimpleNamespace(callbacks=[])
    guard = write_guard.guard(tuner)  # as tune/run.py does for every run of a search
    assert run_config.callbacks == [guard] and guard.found() is None
    syncer = _FilesystemSyncer(storage_filesystem=LocalFileSystem())
    staging, state = tmp_path / "staging", tmp_path / "staging" / "experiment_state-1.json"
    searcher = staging / "searcher-state-1.pkl"
    (staging / "trial").mkdir(parents=True)
    with tmpfs(tmp_path / "disk", "1m") as disk:

        def sync():
            syncer.sync_up(str(staging), str(disk))
            syncer.wait()

        state.write_text(json.dumps({"trials": 1}))
        searcher.write_bytes(b"1")
        (staging / "trial" / "result.json").write_text("{}\n")
        sync()
        assert json.loads((disk / state.name).read_text()) == {"trials": 1}
        assert guard.found() is None and (disk / "trial" / "result.json").is_file()
        (staging / "trial" / "result.json").write_text("{}\n{}\n")  # a trial's next result
        sync()
        assert (disk / "trial" / "result.json").read_text() == "{}\n{}\n"
        searcher.write_bytes(b"2")
        state.write_text(json.dumps({"trials": 2, "padding": "x" * 2**21}))  # 2 MB: no room
        sync()
        assert json.loads((disk / state.name).read_text()) == {"trials": 1}
        assert (disk / searcher.name).read_bytes() == b"1"  # the state's own searcher state
        assert sorted(p.name for p in disk.iterdir()) == [state.name, searcher.name, "trial"]
        assert guard.found().reason == "No space left on device"


def test_resume_sets_a_half_written_state_aside(tmp_path):
    """A state half-written by an older version on a full disk: --resume sets it aside and
    Ray resumes from the one before, instead of restarting the experiment empty."""
    from tune import experiment
    from tune.errors import UsageError

    exp_dir = tmp_path / "old"
    (exp_dir / "ray").mkdir(parents=True)
    (exp_dir / "experiment.json").write_text(json.dumps({**FIRST_EXPERIMENT_JSON, "storage": None}))
    whole = exp_dir / "ray" / "experiment_state-2026-12-01_10-00-00.json"
    half = exp_dir / "ray" / "experiment_state-2026-12-02_10-00-00.json"
    whole.write_text(json.dumps({"trial_data": []}))
    half.write_text('{"trial_data": [["{\\"stub\\": false, \\"trai')
    assert experiment.damaged_ray_state(exp_dir) == half
    aside = experiment.set_aside_damaged_state(exp_dir)
    assert aside.name == f"{half.name}.damaged" and not half.exists() and whole.exists()
    assert experiment.damaged_ray_state(exp_dir) is None
    whole.unlink()
    aside.rename(half)  # no state before it: one line, nothing moved
    with pytest.raises(UsageError, match="no earlier one to resume from"):
        experiment.set_aside_damaged_state(exp_dir)
    assert half.exists()
