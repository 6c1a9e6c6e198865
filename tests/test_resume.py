"""kill -9 the driver of a real search after two trials finished, resume it, and check that
nothing finished was lost or run again and that the search ends with the trials asked for."""
import glob
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pandas as pd

import search_spaces
from conftest import DATA_ROOT, REPO, assert_study_matches_the_trial_table, run_cli, tiny_data
from training.loop import train_epochs

TRIALS = 4


def finished_trials(ray_dir) -> set:
    """Trial ids whose TERMINATED status Ray has saved in its experiment state."""
    states = sorted(glob.glob(f"{ray_dir}/experiment_state-*.json"))
    if not states:
        return set()
    try:
        trials = [json.loads(t[0]) for t in json.load(open(states[-1]))["trial_data"]]
    except (json.JSONDecodeError, OSError):
        return set()  # caught mid-write; look again
    return {t["trial_id"] for t in trials if t["status"] == "TERMINATED"}


def uninterrupted_configs(count: int, folder, seed: int = 0) -> list[dict]:
    """The first configs the `smoke` search's searcher suggests, asked in a row in this process.
    With fewer than 10 finished trials, TPE draws at random (seeded): no result changes them."""
    from tune import searcher
    from tune.search import optuna_searcher
    folder.mkdir()
    searcher.keep_in(folder)
    searcher = optuna_searcher(search_spaces.load("smoke"), seed, max_epochs=2)
    return [{**searcher.suggest(f"t{i}"), **search_spaces.load("smoke").fixed} for i in range(count)]


def test_kill_9_then_resume(tmp_path):
    results = tmp_path / "results"
    ray_dir = results / "crash" / "ray"
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune.run", "--space", "smoke", "--name", "crash", "--num-samples", str(TRIALS),
         "--max-epochs", "2", "--max-concurrent", "1", "--results-dir", str(results)],
        cwd=REPO, env={**os.environ, "TUNE_DATA_ROOT": str(DATA_ROOT)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(finished_trials(ray_dir)) < 2:
        assert driver.poll() is None, "the search ended before it could be killed"
        assert time.time() < deadline, "no two trials finished in 5 minutes"
        time.sleep(0.2)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(2)
    try:
        os.killpg(driver.pid, signal.SIGKILL)  # the dead driver's Ray processes, so they don't linger
    except ProcessLookupError:
        pass
    done_before = finished_trials(ray_dir)
    assert len(done_before) < TRIALS
    saved = {t: (ray_dir / t / "result.json").read_text() for t in done_before}

    # Without --resume, the same name says how to continue it.
    refused = run_cli("tune.run", "--space", "smoke", "--name", "crash", "--results-dir", str(results))
    assert refused.returncode == 2 and "--resume --name crash" in refused.stderr

    resumed = run_cli("tune.run", "--resume", "--name", "crash", "--results-dir", str(results))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    trials = pd.read_csv(results / "crash" / "trials.csv")
    assert len(trials) == TRIALS and trials.trial_id.is_unique
    assert set(trials.status) <= {"COMPLETED", "STOPPED"}
    for trial_id, before in saved.items():  # not run again: the results are the very same lines
        assert (ray_dir / trial_id / "result.json").read_text() == before
        assert trials.set_index("trial_id").loc[trial_id, "epochs"] >= 1
    assert trials.set_index("trial").loc[0, "baseline"]

    # The searcher went on with its history: every trial, before the kill and after it, has the
    # config an uninterrupted search suggests (the baseline, then TPE's seeded start-up draws).
    params = [c for c in trials if c.startswith("param_")]
    got = trials.set_index("trial").sort_index()[params]
    expected = pd.DataFrame([{f"param_{k}": v for k, v in config.items()}
                             for config in uninterrupted_configs(TRIALS, tmp_path / "fresh")])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected[params], check_dtype=False)

    # So did the Optuna study: one Optuna trial per Ray trial, none twice. (A trial the kill caught
    # in the second before Ray saved it is marked lost, and Ray runs its slot again.)
    assert_study_matches_the_trial_table(results / "crash")

    # ASHA's rungs came back too: the trials finished before the kill are still recorded in them.
    with open(results / "crash" / "asha_state.pkl", "rb") as f:
        asha = pickle.load(f)  # our own file, written by tune/scheduler.py
    recorded = {t for bracket in asha["_brackets"] for _, rung in bracket._rungs for t in rung}
    assert done_before <= recorded

    again = run_cli("tune.run", "--resume", "--name", "crash", "--results-dir", str(results))
    assert again.returncode == 0 and "already finished" in again.stdout

    other = run_cli("tune.run", "--resume", "--name", "crash", "--max-epochs", "5", "--results-dir", str(results))
    assert other.returncode == 2 and "--max-epochs 5 (it ran with 2)" in other.stderr


def test_a_resumed_trial_trains_exactly_as_an_uninterrupted_one():
    """Model, optimiser, data order and dropout masks all continue: 3 epochs in a row equal 2
    epochs, a stop, and a third from the epoch-2 state."""
    data = tiny_data(count=6)
    config = {"lr": 1e-3, "dropout_placement": "both", "dropout_before_fc1": 0.5, "dropout_after_fc1": 0.5,
              "rotation": 10.0, "offline_rotations": True, "batch_size": 4}
    settings = {"model": "seed_cnn", "image_size": 64, "max_epochs": 3, "seed": 0}
    straight = [metrics for metrics, _ in train_epochs(config, settings, data)]
    first_two = list(train_epochs(config, {**settings, "max_epochs": 2}, data))
    continued = [metrics for metrics, _ in train_epochs(config, settings, data, state=first_two[-1][1])]
    assert [m["epoch"] for m in continued] == [3]
    assert continued[0] == straight[2]
