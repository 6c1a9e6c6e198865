"""One trial's life in Ray Tune: run the training loop, report each pass with a checkpoint.

Every pass over the training split (an epoch, or a third of one with offline rotations) ends with
`ray.tune.report(metrics, checkpoint=...)`; a trial that Ray restarts (a retry, or a resumed
experiment) continues from `ray.tune.get_checkpoint()`.

The images (and any cached features) reach the trial through Ray's object store, not a path:
the driver puts them there once (`tune.with_parameters`), and every trial on a node reads the
same shared-memory copy, zero-copy, so a trial works on a node that cannot see the driver's disk.
"""

import ctypes
import os
import tempfile
import time
import warnings
from pathlib import Path

import ray.tune
import torch

from training import features
from training.loop import CHECKPOINT_FILE, LoopSettings, train_passes
from tune.settings import ModelInputs, TrialSettings
from tune.trial_inputs import for_trial


def as_numpy(tree):
    """Tensors -> numpy arrays (what Ray's object store shares without copying), nested."""
    if isinstance(tree, dict):
        return {k: as_numpy(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return tuple(as_numpy(v) for v in tree)
    return tree.numpy()


def as_tensors(tree):
    """The object store's read-only numpy arrays -> tensors over the same memory (never written)."""
    if isinstance(tree, dict):
        return {k: as_tensors(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return tuple(as_tensors(v) for v in tree)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(tree)


def _libc_malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim with, nothing lost
        return lambda pad: 0


malloc_trim = _libc_malloc_trim()


def cache(folder: Path, inputs: ModelInputs, loop: LoopSettings, data: dict) -> dict:
    """The frozen part's activations for this trial's model: built by the first trial that needs
    them, in the experiment folder (or, on a node that cannot see it, in a folder of the node's
    own), then shared (training/features.py)."""
    if not folder.is_dir():
        folder = Path(tempfile.gettempdir()) / "smoker-tune-caches" / folder.name
        folder.mkdir(parents=True, exist_ok=True)
    return features.load_or_build(
        folder / inputs.features_file,
        lambda: features.extract(
            loop.model,
            loop.image_size,
            data["train"][0],
            data["val"][0],
            loop.precision,
            data.get("imagenet"),
            cut_stages=inputs.cut_stages,
        ),
    )


def train_trial(config: dict, settings: TrialSettings, data: dict, cache_dir: str) -> None:
    """config: the searched hyperparameters. settings: what every trial of the search shares
    (tune/settings.py). data: per model, the train and val splits as numpy arrays from the object
    store. cache_dir: the experiment folder, where cached activations are built and shared."""
    # Ray starts workers with 1 thread; a trial may hold more CPUs than it started with
    # (tune/engine/scheduler.py)
    cpus = ray.tune.get_context().get_trial_resources().required_resources.get("CPU")
    torch.set_num_threads(int(cpus or settings.cpus_per_trial))
    loop = for_trial(config, settings)
    inputs = settings.inputs[loop.model]
    state = None
    checkpoint = ray.tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            state = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True)
    data, waited = as_tensors(data[loop.model]), time.perf_counter()
    if config.get("freeze_backbone") and inputs.features_file:
        data["features"] = cache(Path(cache_dir), inputs, loop, data)
    # cache_s: the seconds the first pass spent building or waiting for the cache, which the
    # time-left estimate does not count as training (tune/engine/progress.py)
    extra = {"cache_s": round(time.perf_counter() - waited, 1)}
    for metrics, saved in train_passes(config, loop, data, state):
        with tempfile.TemporaryDirectory() as folder:
            torch.save(saved, os.path.join(folder, CHECKPOINT_FILE))
            # threads: what the pass trained with (the CPUs the trial held), for people and tests
            metrics = {**metrics, "threads": torch.get_num_threads(), **extra}
            extra = {"cache_s": 0.0}
            ray.tune.report(metrics, checkpoint=ray.tune.Checkpoint.from_directory(folder))
        # glibc keeps the pages of an epoch's freed activations: a fine-tuned EfficientNet-Lite2
        # trial (batch 64) then held 6.5 GB between epochs and its reused worker ~10 GB two trials
        # later, and two such workers ran the 24 GB machine out of memory. Handing them back each
        # epoch costs nothing measurable (benchmarks/README.md).
        malloc_trim(0)
