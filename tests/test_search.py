"""A real search, end to end, on a small subset of the real photos (the `smoke` space)."""

import json
import re

import pandas as pd
import pytest
import torch
from conftest import assert_study_matches_the_trial_table, copy_photos, real_photos, run_cli

import search_spaces
from training.loop import CHECKPOINT_FILE


@pytest.fixture
def search(smoke_search):
    return smoke_search


def test_search_writes_its_results(search):
    exp_dir, done = search
    for name in ("best_config.json", "trials.csv", "summary.md", "manifest.csv", "experiment.json"):
        assert (exp_dir / name).is_file(), name
    assert (exp_dir / "ray").is_dir()
    assert "Best trial" in done.stdout and str(exp_dir) in done.stdout


def test_every_trial_is_in_the_table_with_per_epoch_metrics(search):
    trials = pd.read_csv(search[0] / "trials.csv")
    assert len(trials) == 3
    assert set(trials.status) <= {"COMPLETED", "STOPPED"}
    assert trials.best_val_loss.is_monotonic_increasing  # sorted by the search metric
    assert trials.epochs.between(1, 2).all()
    # one report per epoch, and the table's figures come from them
    for _, trial in trials.iterrows():
        epochs = pd.read_json(search[0] / "ray" / trial.trial_id / "result.json", lines=True)
        assert list(epochs.epoch) == list(range(1, trial.epochs + 1))
        assert epochs[["train_loss", "val_loss", "val_acc", "val_auc"]].notna().all().all()
        assert trial.best_val_loss == pytest.approx(epochs.val_loss.min())
        assert trial.best_val_acc == pytest.approx(epochs.val_acc[epochs.val_loss.idxmin()])


def test_the_table_takes_each_trials_best_epoch_not_its_last(search, tmp_path):
    """In the smoke search every trial may well improve to its last epoch; here, in a copy, the
    baseline's second epoch is made its worse one, and the table must still report its first."""
    import shutil

    from tune import experiment

    exp_dir = tmp_path / "e2e"
    shutil.copytree(search[0], exp_dir)
    baseline_id = pd.read_csv(exp_dir / "trials.csv").set_index("trial").loc[0, "trial_id"]
    results = exp_dir / "ray" / baseline_id / "result.json"
    epochs = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(epochs) == 2  # the scheduler never stops the baseline early
    epochs[1].update(val_loss=epochs[0]["val_loss"] + 1.0, val_acc=epochs[0]["val_acc"] / 2)
    results.write_text("".join(json.dumps(epoch) + "\n" for epoch in epochs))
    row = experiment.trials_table(exp_dir).set_index("trial").loc[0]
    assert (row.best_epoch, row.best_val_loss, row.best_val_acc) == (
        1,
        epochs[0]["val_loss"],
        epochs[0]["val_acc"],
    )
    assert row.last_val_loss == pytest.approx(epochs[0]["val_loss"] + 1.0)


def test_the_reports_baseline_is_trial_0(search):
    trials = pd.read_csv(search[0] / "trials.csv").set_index("trial")
    baseline = search_spaces.load("smoke").baseline
    assert trials.loc[0, "baseline"]
    for name, value in baseline.items():
        assert trials.loc[0, f"param_{name}"] == value, name
    assert trials.baseline.sum() == 1
    # the scheduler never stops it early
    assert trials.loc[0, "status"] == "COMPLETED" and trials.loc[0, "epochs"] == 2


def test_best_config_points_at_a_weights_only_checkpoint(search):
    exp_dir = search[0]
    best = json.loads((exp_dir / "best_config.json").read_text())
    trials = pd.read_csv(exp_dir / "trials.csv")
    assert best["trial_id"] == trials.trial_id[0] and best["val_loss"] == pytest.approx(
        trials.best_val_loss[0]
    )
    state = torch.load(exp_dir / best["checkpoint"] / CHECKPOINT_FILE, weights_only=True)
    assert state["epoch"] == best["epoch"] and "classifier.2.weight" in state["model"]
    for trial_id in trials.trial_id:  # a finished trial keeps its best checkpoint only
        assert len(list((exp_dir / "ray" / trial_id).glob("checkpoint_*"))) == 1, trial_id


def test_the_optuna_study_has_every_trial_as_ray_ran_it(search):
    trials = assert_study_matches_the_trial_table(search[0])
    assert len(trials) == 3 and [t.user_attrs["baseline"] for t in trials] == [True, False, False]
    assert trials[0].params == search_spaces.load("smoke").baseline  # trial 0 of Optuna too


def test_split_manifest_is_saved_with_the_test_split_held_out(search):
    manifest = pd.read_csv(search[0] / "manifest.csv")
    used = manifest[manifest.status == "ok"]
    assert used.groupby(["split", "label"]).size().tolist() == [24] * 6
    sizes = json.loads((search[0] / "experiment.json").read_text())["split_sizes"]
    assert sizes == {"train": 48, "val": 48, "test": 48}


def test_a_search_that_is_not_on_a_terminal_prints_one_line_per_trial(search):
    exp_dir, done = search
    output = done.stdout + done.stderr
    trials = pd.read_csv(exp_dir / "trials.csv")
    ended = [line for line in done.stdout.splitlines() if line.startswith("trial ")]
    assert len(ended) == len(trials) == 3  # one plain line per ended trial ...
    for line in ended:
        assert re.match(
            r"trial \d \(\w{8}\) (completed|stopped early by the scheduler) "
            r"after \d pass(es)?: val loss",
            line,
        )
        assert "ended (" in line and "elapsed" in line and "best val loss" in line
    assert "Best trial" in done.stdout and "Results in" in done.stdout  # ... and the final summary
    # Ray is quiet
    assert "Checkpoint successfully created" not in output and "Trial status" not in output
    assert "\x1b[" not in output and "\r" not in output  # no escape codes, no redrawn line


def test_a_space_searches_your_own_photos_with_dataset(tmp_path):
    """Class folders of a few real photos, no split folders: the smoke space's model, parameters
    and baseline on them, and the experiment says which data set it searched."""
    root = tmp_path / "root"
    copy_photos(real_photos("smoking", 15), root / "my_photos" / "smoking")
    copy_photos(real_photos("notsmoking", 15), root / "my_photos" / "not smoking")
    done = run_cli(
        "tune.run",
        "--space",
        "smoke",
        "--dataset",
        "my_photos",
        "--data-root",
        str(root),
        "--name",
        "mine",
        "--num-samples",
        "2",
        "--max-passes",
        "1",
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp_dir = tmp_path / "results" / "mine"
    exp = json.loads((exp_dir / "experiment.json").read_text())
    assert exp["dataset"] == "my_photos" and exp["dataset_dir"] == str(
        (root / "my_photos").resolve()
    )
    assert sum(exp["split_sizes"].values()) == 30  # every photo, split three ways
    manifest = pd.read_csv(exp_dir / "manifest.csv")
    assert len(manifest) == 30 and manifest.path.str.match(r"(smoking|not smoking)/").all()
    trials = pd.read_csv(exp_dir / "trials.csv").set_index("trial")
    assert len(trials) == 2 and trials.loc[0, "baseline"]  # the report's baseline is still trial 0
    assert "data set `my_photos`" in (exp_dir / "summary.md").read_text()
    refused = run_cli(
        "tune.run",
        "--resume",
        "--name",
        "mine",
        "--dataset",
        "smoker_detection",
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert (
        refused.returncode == 2
        and "--dataset smoker_detection (it ran with my_photos)" in refused.stderr
    )


def test_a_trial_given_two_cpus_trains_on_two_threads(tmp_path):
    """--cpus-per-trial 2 on this 2-CPU machine: one trial at a time, each on 2 torch threads
    (Ray starts its workers with 1: the trainable sets them from the CPUs the trial holds)."""
    root = tmp_path / "root"
    for label in ("smoking", "notsmoking"):
        copy_photos(real_photos(label, 15), root / "few" / label)
    done = run_cli(
        *("tune.run", "--space", "smoke", "--dataset", "few", "--data-root", str(root)),
        *("--name", "two", "--num-samples", "2", "--max-passes", "1", "--cpus-per-trial", "2"),
        *("--results-dir", str(tmp_path / "results")),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp = json.loads((tmp_path / "results" / "two" / "experiment.json").read_text())
    assert exp["cpus_per_trial"] == 2 and exp["max_concurrent"] == 1  # 2 CPUs hold one trial
    history = [pd.read_csv(f) for f in (tmp_path / "results" / "two").glob("ray/*/progress.csv")]
    assert len(history) == 2 and all((h["threads"] == 2).all() for h in history)


def test_an_ended_trials_checkpoint_keeps_only_its_weights_and_passes(search):
    """Adam's moments and the random generators serve only a trial that goes on."""
    exp_dir = search[0]
    table = pd.read_csv(exp_dir / "trials.csv").set_index("trial_id")
    checked = 0
    for path in (exp_dir / "ray").glob("*/checkpoint_*/checkpoint.pt"):
        if table.loc[path.parent.parent.name, "status"] in ("COMPLETED", "STOPPED"):
            assert set(torch.load(path, weights_only=True)) == {"model", "epoch", "passes"}
            checked += 1
    assert checked >= len(table)  # every trial ended, each keeps its best checkpoint
