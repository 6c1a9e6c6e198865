"""One driver per experiment, and promotion of finished searches only: a second `tune.run` on a
running experiment is refused and the first goes on undisturbed; a dead driver's lock is taken
over; `tune.promote` refuses a running or interrupted search unless --allow-unfinished."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import (
    assert_study_matches_the_trial_table,
    hooks_env,
    one_at_a_time,
    run_in_process,
    start_cli,
)

from tune import experiment, lock
from tune.errors import UsageError


def command(*args, env=None, log=None) -> subprocess.Popen:
    """`python -m ARGS` started; output piped, or written to `log` (a long run fills no pipe)."""
    return start_cli(
        *args,
        env_extra=env,
        text=True,
        start_new_session=True,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT if log else subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    """A real `smoke` search (epochs slowed, so that it is still running meanwhile) and, as soon as
    its lock appears, a second driver with --resume, one with --space, and `tune.trials`."""
    results = tmp_path_factory.mktemp("results")
    exp_dir, log_file = results / "twin", tmp_path_factory.mktemp("log") / "twin.log"
    log = open(log_file, "w")
    first = command(
        *one_at_a_time("twin", results),
        env=hooks_env(TUNE_TEST_SLOW_EPOCH_S="4"),
        log=log,
    )
    try:
        deadline = time.time() + 300
        while not (exp_dir / lock.LOCK_FILE).exists():
            assert first.poll() is None, "the search ended before its lock appeared"
            assert time.time() < deadline, "no lock in 5 minutes"
            time.sleep(0.1)
        where = ("--name", "twin", "--results-dir", str(results))
        others = {
            "resume": command("tune.run", "--resume", *where),
            "space": command("tune.run", "--space", "smoke", *where),
            "trials": command("tune.trials", "twin", "--results-dir", str(results)),
        }
        done = {}
        for what, second in others.items():
            out, err = second.communicate(timeout=300)
            done[what] = SimpleNamespace(returncode=second.returncode, stdout=out, stderr=err)
        still_running = first.poll() is None
        first.wait(timeout=600)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        log.close()
    return SimpleNamespace(
        exp_dir=exp_dir,
        first=first,
        output=log_file.read_text(),
        still_running=still_running,
        **done,
    )


def test_a_second_driver_on_a_running_experiment_is_refused_and_the_first_is_undisturbed(twin):
    assert twin.still_running, "the search ended before the second commands were checked"
    lock_file = twin.exp_dir / lock.LOCK_FILE
    for second in (twin.resume, twin.space):  # --resume, and a new search of the same name
        assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
        assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
        assert "experiment twin is running" in second.stderr and "interrupted" not in second.stderr
        assert f"pid {twin.first.pid} on {socket.gethostname()}" in second.stderr
        assert str(lock_file) in second.stderr
    assert twin.trials.returncode == 0, twin.trials.stderr  # readers work while it runs
    assert twin.first.returncode == 0, twin.output[-3000:]
    assert "interrupted" not in twin.output
    trials = pd.read_csv(twin.exp_dir / "trials.csv")
    assert len(trials) == 3 and trials.trial_id.is_unique
    assert set(trials.status) <= {"COMPLETED", "STOPPED"}
    assert len(assert_study_matches_the_trial_table(twin.exp_dir)) == 3  # no second driver's trials
    assert not lock_file.exists()  # released at the end


def test_a_lock_is_live_only_while_its_driver_runs(tmp_path):
    held = lock.take(tmp_path, "x")
    holder = lock.read(tmp_path)
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert lock.is_live(holder)
    with pytest.raises(UsageError, match="experiment x is running"):
        lock.take(tmp_path, "x")
    assert not lock.is_live({**holder, "proc_start": holder["proc_start"] + 1})  # its pid, reused
    held.release()
    assert lock.read(tmp_path) is None
    # another host's lock: live while its driver keeps touching it, stale once it stops
    elsewhere = {**holder, "host": "elsewhere", "pid": 1}
    (tmp_path / lock.LOCK_FILE).write_text(json.dumps(elsewhere))
    assert lock.live_holder(tmp_path)
    long_ago = time.time() - lock.STALE_AFTER_S - 60
    os.utime(tmp_path / lock.LOCK_FILE, (long_ago, long_ago))
    assert lock.live_holder(tmp_path) is None
    with lock.take(tmp_path, "x"):
        assert lock.read(tmp_path)["pid"] == os.getpid()
    assert lock.read(tmp_path) is None


def copy_of(twin, tmp_path, **settings):
    """The finished search, copied, with `settings` changed in its experiment.json."""
    exp_dir = tmp_path / "results" / "twin"
    shutil.copytree(twin.exp_dir, exp_dir)
    exp = json.loads((exp_dir / "experiment.json").read_text())
    (exp_dir / "experiment.json").write_text(json.dumps({**exp, **settings}))
    return exp_dir


def dead_drivers_lock(exp_dir) -> int:
    """A lock left by a driver killed with -9 on this host: its pid is gone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {
        "pid": dead.pid,
        "host": socket.gethostname(),
        "since": "2026-01-01 00:00:00",
        "token": "dead",
    }
    (exp_dir / lock.LOCK_FILE).write_text(json.dumps(stale))
    return dead.pid


def test_resume_takes_over_the_lock_of_a_dead_driver(twin, tmp_path, capsys):
    from tune import run

    exp_dir = copy_of(twin, tmp_path, finished=True)  # --resume takes the lock, has nothing to do
    pid = dead_drivers_lock(exp_dir)
    code, out, err = run_in_process(
        capsys, run.main, "--resume", "--name", "twin", "--results-dir", str(exp_dir.parent)
    )
    assert code == 0, err
    assert (
        f"Taking over the lock of a driver that is gone (pid {pid} on {socket.gethostname()}" in out
    )
    assert "already finished" in out and not (exp_dir / lock.LOCK_FILE).exists()


def test_promote_refuses_an_unfinished_search_unless_allowed(twin, tmp_path, capsys):
    from tune import promote

    exp_dir = copy_of(twin, tmp_path, finished=False, ended_by="an interruption")
    results = exp_dir.parent

    def promote_it(*flags):
        return run_in_process(capsys, promote.main, "twin", "--results-dir", str(results), *flags)

    code, _, err = promote_it()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "experiment twin is not finished: it was ended by an interruption" in err
    assert f"python -m tune.run --resume --name twin --results-dir {results}," in err
    assert "--allow-unfinished" in err
    with lock.take(exp_dir, "twin"):  # a live driver's (this process's) lock: running
        code, _, err = promote_it()
    assert code == 2 and "is running (pid" in err and len(err.strip().splitlines()) == 1
    assert not {"model.pt", "test_scores.json"} & {p.name for p in exp_dir.iterdir()}
    assert not (results / "leaderboard.csv").exists()  # the test split was not read
    # the time budget ending a search finishes it, unless its driver died later (a --resume killed)
    budget_ended = replace(experiment.settings(exp_dir), ended_by="the time budget (1 min)")
    assert promote.unfinished_because(exp_dir, budget_ended) is None
    dead_drivers_lock(exp_dir)
    assert "died before it ended" in promote.unfinished_because(exp_dir, budget_ended)
    (exp_dir / lock.LOCK_FILE).unlink()

    code, out, err = promote_it("--allow-unfinished")
    assert code == 0, err
    scores = json.loads((exp_dir / "test_scores.json").read_text())
    assert scores["unfinished"] is True and "interruption" in scores["unfinished_reason"]
    final_test = (exp_dir / "summary.md").read_text().split("## Final test")[1]
    assert "Promoted with --allow-unfinished before the search had finished" in final_test
    assert pd.read_csv(results / "leaderboard.csv").unfinished.tolist() == [True]
