"""One trial's life in Ray Tune: run the training loop, report each epoch with a checkpoint.

Every epoch ends with `ray.tune.report(metrics, checkpoint=...)`; a trial that Ray restarts
(a retry, or a resumed experiment) continues from `ray.tune.get_checkpoint()`.
"""
import os
import tempfile
from pathlib import Path

import ray.tune
import torch

from tune.training import CHECKPOINT_FILE, train_epochs


def train_trial(config: dict, settings: dict) -> None:
    """config: the searched hyperparameters. settings: what every trial of the search shares
    (model, image size, epochs, seed, tensors file, CPUs per trial, weights file)."""
    torch.set_num_threads(settings["cpus_per_trial"])  # Ray starts workers with 1 thread
    state = None
    checkpoint = ray.tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            state = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True)
    for metrics, state in train_epochs(config, settings, state):
        inject_test_fault(metrics["epoch"], Path(settings["tensors_file"]).parent)
        with tempfile.TemporaryDirectory() as folder:
            torch.save(state, os.path.join(folder, CHECKPOINT_FILE))
            ray.tune.report(metrics, checkpoint=ray.tune.Checkpoint.from_directory(folder))


def inject_test_fault(epoch: int, exp_dir: Path) -> None:
    """For the fault tests only: with TUNE_TEST_FAULT="EPOCH:once" (or ":always") the first trial
    to finish epoch EPOCH raises there before reporting it, once (or on every retry)."""
    spec = os.environ.get("TUNE_TEST_FAULT")
    if not spec:
        return
    at, mode = spec.split(":")
    if epoch != int(at):
        return
    trial_id = ray.tune.get_context().get_trial_id()
    claim = exp_dir / "test_fault_trial"
    try:
        with open(claim, "x") as f:
            f.write(trial_id)
    except FileExistsError:
        pass
    if claim.read_text() != trial_id:
        return
    raised = exp_dir / f"test_fault_raised_{trial_id}"
    if mode == "always" or not raised.exists():
        raised.touch()
        raise RuntimeError(f"injected test fault in epoch {epoch} of trial {trial_id}")
