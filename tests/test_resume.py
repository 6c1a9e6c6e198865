"""kill -9 the driver of a real search after its first trial finished, resume it, and check that
nothing finished was lost or run again and that the search ends with the trials asked for."""

import copy
import glob
import json
import os
import signal
import subprocess
import time
from dataclasses import replace

import pandas as pd
from conftest import (
    assert_study_matches_the_trial_table,
    one_at_a_time,
    run_cli,
    start_cli,
    tiny_data,
)

import search_spaces
from training.loop import LoopSettings, train_passes
from tune import experiment

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
    from tune.engine.context import RunContext
    from tune.engine.search import optuna_searcher

    folder.mkdir()
    run = RunContext(
        exp_dir=folder,
        ray_path=str(folder / "ray"),
        num_samples=count,
        budget=2,
        at_once=1,
        cpus_per_trial=1,
        baseline=search_spaces.load("smoke").baseline,
    )
    searcher = optuna_searcher(search_spaces.load("smoke"), seed, budget=2, run=run)
    return [
        {**searcher.suggest(f"t{i}"), **search_spaces.load("smoke").fixed} for i in range(count)
    ]


def test_kill_9_then_resume(tmp_path):
    results = tmp_path / "results"
    ray_dir = results / "crash" / "ray"
    driver = start_cli(
        *one_at_a_time("crash", results, TRIALS),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    # (the others wait at the first rung until it closes, then end at once: kill after the first)
    while len(finished_trials(ray_dir)) < 1:
        assert driver.poll() is None, "the search ended before it could be killed"
        assert time.time() < deadline, "no trial finished in 5 minutes"
        time.sleep(0.2)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(2)
    try:
        # the dead driver's Ray processes, so they don't linger
        os.killpg(driver.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    done_before = finished_trials(ray_dir)
    assert len(done_before) < TRIALS
    saved = {t: (ray_dir / t / "result.json").read_text() for t in done_before}

    # Without --resume, the same name says how to continue it.
    refused = run_cli(
        "tune.run", "--space", "smoke", "--name", "crash", "--results-dir", str(results)
    )
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
    expected = pd.DataFrame(
        [
            {f"param_{k}": v for k, v in config.items()}
            for config in uninterrupted_configs(TRIALS, tmp_path / "fresh")
        ]
    )
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected[params], check_dtype=False)

    # So did the Optuna study: one Optuna trial per Ray trial, none twice. (A trial the kill caught
    # in the second before Ray saved it is marked lost, and Ray runs its slot again.)
    assert_study_matches_the_trial_table(results / "crash")

    # The scheduler's rungs came back too: the trials finished before the kill are still in them.
    rungs = json.loads((results / "crash" / "scheduler_state.json").read_text())["rungs"]
    assert done_before <= {t for rung in rungs.values() for t in rung}

    again = run_cli("tune.run", "--resume", "--name", "crash", "--results-dir", str(results))
    assert again.returncode == 0 and "already finished" in again.stdout

    other = run_cli(
        "tune.run",
        "--resume",
        "--name",
        "crash",
        "--max-passes",
        "5",
        "--results-dir",
        str(results),
    )
    assert other.returncode == 2 and "--max-passes 5 (it ran with 2)" in other.stderr


def test_a_resumed_trial_trains_exactly_as_an_uninterrupted_one():
    """Model, optimiser, data order and dropout masks all continue: 3 epochs in a row equal 2
    epochs, a stop, and a third from the epoch-2 state; and an epoch of the offline rotated copies
    (three passes) stopped after its first pass goes on with that epoch's own order."""
    data = tiny_data(count=6)
    config = {
        "lr": 1e-3,
        "dropout_placement": "both",
        "dropout_before_fc1": 0.5,
        "dropout_after_fc1": 0.5,
        "rotation": 10.0,
        "offline_rotations": True,
        "batch_size": 4,
    }
    settings = LoopSettings(model="seed_cnn", image_size=64, max_epochs=3, seed=0)
    straight = [metrics for metrics, _ in train_passes(config, settings, data)]
    first_two = list(train_passes(config, replace(settings, max_epochs=2), data))
    continued = [
        metrics for metrics, _ in train_passes(config, settings, data, state=first_two[-1][1])
    ]
    assert [m["epoch"] for m in continued] == [2.333, 2.667, 3]
    assert continued == straight[6:]
    # after the first pass of epoch 2 (copied then: a yielded state holds the live model's tensors)
    mid_epoch = next(
        copy.deepcopy(state)
        for metrics, state in train_passes(config, settings, data)
        if metrics["passes"] == 4
    )
    assert [m for m, _ in train_passes(config, settings, data, state=mid_epoch)] == straight[4:]


def test_a_trial_with_offline_rotations_meets_the_first_rung_after_as_many_images_as_a_1x_trial():
    """The budget is training images: a 3x epoch is reported as three passes of the split's size."""
    data = tiny_data(count=6)
    config = {"lr": 1e-3, "dropout_placement": "none", "rotation": 0.0, "batch_size": 4}
    settings = LoopSettings(model="seed_cnn", image_size=64, max_epochs=1, seed=0)
    plain = [m for m, _ in train_passes({**config, "offline_rotations": False}, settings, data)]
    rotated = [m for m, _ in train_passes({**config, "offline_rotations": True}, settings, data)]
    assert [m["passes"] for m in plain] == [1] and [m["passes"] for m in rotated] == [1, 2, 3]
    assert rotated[0]["train_images"] == plain[0]["train_images"] == len(data["train"][1])
    capped = [
        m
        for m, _ in train_passes(
            {**config, "offline_rotations": True}, replace(settings, max_passes=1), data
        )
    ]
    assert [m["passes"] for m in capped] == [
        1
    ]  # a searched 3x trial's budget: as many images as a 1x one


def test_kill_9_while_a_trial_waits_at_a_rung_then_resume(tmp_path):
    """One trial at a time: the second trial to reach the first rung waits there, paused; the
    driver is killed then. --resume keeps it waiting until the rung can judge it, continues it
    from its checkpoint if it is promoted, and every trial ends, each once."""
    results = tmp_path / "results"
    state = results / "paused" / "scheduler_state.json"
    driver = start_cli(
        # six trials: the first after the baseline always waits at the rung (it cannot be the
        # best third of two yet, and is at worst second of six: not hopeless)
        *one_at_a_time("paused", results, 6),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline, waiting = time.time() + 300, {}
    while not waiting:
        assert driver.poll() is None, "the search ended before a trial waited at a rung"
        assert time.time() < deadline, "no trial waited at a rung in 5 minutes"
        time.sleep(0.1)
        try:
            waiting = json.loads(state.read_text())["waiting"] if state.exists() else {}
        except json.JSONDecodeError:
            continue
    # at once: Ray saves its state a second or so after the rungs' file, so it may not have
    # saved the pause yet, nor the end of a trial that has ended; a trial it had not saved paused
    # runs again from its last checkpoint (tests/test_scheduler.py, test_a_driver_killed_...)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    saved = experiment.analysis(results / "paused")
    paused = [t.trial_id for t in saved.trials if t.trial_id in waiting and t.status == "PAUSED"]

    resumed = run_cli(
        "tune.run", "--resume", "--name", "paused", "--results-dir", str(results), timeout=300
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    trials = pd.read_csv(results / "paused" / "trials.csv")
    assert len(trials) == 6 and trials.trial_id.is_unique
    assert set(trials.status) <= {"COMPLETED", "STOPPED"}
    # it went on from its checkpoint, or was stopped: never trained pass 1 again
    for trial_id in paused:
        passes = [
            json.loads(line)["passes"]
            for line in (results / "paused" / "ray" / trial_id / "result.json").open()
        ]
        assert passes == list(range(1, len(passes) + 1)), passes
    assert_study_matches_the_trial_table(results / "paused")
