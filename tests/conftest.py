"""Shared helpers: the real photos (../shared/datasets, or $TUNE_DATA_ROOT) and small data sets
laid out in each accepted layout, built from copies of real photos in a temporary folder."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from data_utils.images import load_image

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("TUNE_DATA_ROOT") or REPO.parent / "shared" / "datasets").resolve()
SMOKER = DATA_ROOT / "smoker_detection"


# experiment.json as the first version wrote it (no trial settings, classes or scheduler): what
# tune/settings.py must still read
FIRST_EXPERIMENT_JSON = {
    "name": "old",
    "space": "cnn_dataset1",
    "model": "seed_cnn",
    "dataset": "smoker_detection",
    "dataset_dir": "/data/smoker_detection",
    "image_size": 256,
    "split_sizes": {"train": 572, "val": 180, "test": 144},
    "num_samples": 20,
    "max_epochs": 9,
    "seed": 0,
    "cpus_per_trial": 1,
    "max_concurrent": 2,
    "baseline": {"lr": 0.001},
}


def real_photos(label: str, count: int, split: str = "Training") -> list[Path]:
    """The first `count` real photos of a class ('smoking' or 'notsmoking')."""
    photos = sorted((SMOKER / split / split).glob(f"{label}_*.jpg"))[:count]
    assert len(photos) == count, f"expected the real photos under {SMOKER}"
    return photos


def tiny_data(count=8, size=64):
    """A few real photos per class, decoded as a search would."""

    def split(kind):
        photos = real_photos("smoking", count, kind) + real_photos("notsmoking", count, kind)
        return (
            torch.stack([load_image(p, size) for p in photos]),
            torch.tensor([1.0] * count + [0.0] * count),
        )

    return {"train": split("Training"), "val": split("Validation")}


def copy_photos(photos, folder: Path, rename=lambda p: p.name) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for photo in photos:
        shutil.copy(photo, folder / rename(photo))


def hooks_env(**variables) -> dict:
    """The environment that makes tests/fault_injection/sitecustomize.py wrap the training loop
    in every Python process of a search (TUNE_TEST_FAULT=..., TUNE_TEST_SLOW_EPOCH_S=...)."""
    return {
        **variables,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "tests" / "fault_injection"), os.environ.get("PYTHONPATH", "")]
        ),
    }


def one_at_a_time(name: str, results, samples: int = 3) -> list[str]:
    """`tune.run` of the smoke space, one trial at a time, 2 passes each: the search that the
    fault tests start in the background, watch, stop or kill."""
    return [
        *("tune.run", "--space", "smoke", "--name", name, "--num-samples", str(samples)),
        *("--max-passes", "2", "--max-concurrent", "1", "--results-dir", str(results)),
    ]


def start_cli(*args, env_extra=None, **popen) -> subprocess.Popen:
    """`python -m ARGS` started as a user would, in the background, for a test that watches,
    stops or kills it; `popen`: where its output goes, its own session, ..."""
    env = {**os.environ, "TUNE_DATA_ROOT": str(DATA_ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=env, **popen)


def run_cli(*args, env_extra=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m ARGS` as a user would, from the repository root."""
    env = {**os.environ, "TUNE_DATA_ROOT": str(DATA_ROOT), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_process(capsys, main, *argv) -> tuple[int, str, str]:
    """A command's main run as `python -m` would run it, in this process:
    (exit code, stdout, stderr)."""
    from tune.cli import run_main

    with pytest.raises(SystemExit) as exit_info:
        run_main(main, list(argv))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def assert_study_matches_the_trial_table(exp_dir: Path) -> list:
    """The experiment's Optuna study (results/EXP/optuna.journal) says what its trials.csv says: one
    Optuna trial per Ray trial and none twice, each ended as the table says, valued at its last
    validation loss, with one intermediate value per pass. Returns the study's trials."""
    from optuna.trial import TrialState

    from tune import study

    table = pd.read_csv(exp_dir / "trials.csv").set_index("trial_id")
    trials = [
        t
        for t in study.load(exp_dir).trials
        if not t.user_attrs.get("ended", "").startswith("lost")
    ]
    assert sorted(t.user_attrs["ray_trial_id"] for t in trials) == sorted(table.index)
    meaning = {
        "COMPLETED": ("completed", TrialState.COMPLETE),
        "STOPPED": ("stopped early by the scheduler", TrialState.PRUNED),
        "ERROR": ("errored", TrialState.FAIL),
        "PAUSED": ("paused by the time budget", TrialState.RUNNING),
    }
    for trial in trials:
        row = table.loc[trial.user_attrs["ray_trial_id"]]
        assert (trial.user_attrs["ended"], trial.state) == meaning[row.status], row.name
        assert trial.user_attrs["baseline"] == bool(row.baseline)
        assert sorted(trial.intermediate_values) == list(range(1, row.passes + 1))
        if row.status in ("COMPLETED", "STOPPED"):
            assert trial.value == pytest.approx(row.last_val_loss)
    return trials


@pytest.fixture
def prefix_layout(tmp_path) -> Path:
    """The public download's layout: nested split folders, class in the file-name prefix."""
    root = tmp_path / "root"
    for split, n in (("Training", 12), ("Validation", 4)):
        for label in ("smoking", "notsmoking"):
            copy_photos(real_photos(label, n, split), root / "ds" / split / split)
    return root


LOG_EVERY_S = 5  # the smoke search's status lines (its output is not a terminal)


@pytest.fixture(scope="session")
def smoke_search(tmp_path_factory):
    """One real search of the `smoke` space (3 trials, 2 epochs), shared by the tests that
    read it."""
    results = tmp_path_factory.mktemp("results")
    done = run_cli(
        "tune.run",
        "--space",
        "smoke",
        "--name",
        "e2e",
        "--num-samples",
        "3",
        "--max-passes",
        "2",
        "--results-dir",
        str(results),
        *("--log-every", str(LOG_EVERY_S)),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return results / "e2e", done


@pytest.fixture(scope="session")
def pretrained_search(tmp_path_factory):
    """A small real search of effnet_dataset1 (Lite0): 64 training photos (its largest batch),
    shared by the tests that promote it (tests/test_probe.py, tests/test_export.py)."""
    root = tmp_path_factory.mktemp("probe")
    for split, count in (("Training", 40), ("Validation", 10)):
        for label in ("smoking", "notsmoking"):
            copy_photos(real_photos(label, count, split), root / "data" / "small" / split / split)
    results = root / "results"
    done = run_cli(
        "tune.run",
        *("--space", "effnet_dataset1", "--dataset", "small", "--data-root", str(root / "data")),
        *("--num-samples", "2", "--max-passes", "1", "--results-dir", str(results)),
        *("--name", "probe"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return results / "probe"
