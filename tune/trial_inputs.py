"""What one trial trains on and with: the splits, ImageNet weights and cached features an
experiment recorded for each model it may build, and the settings the training loop gets for a
trial's config. Read by the Ray workers, tune.promote, refit and the cross-validation."""

from pathlib import Path

import torch

from data_utils.prepare import load_splits
from models import imagenet_state, weights
from tune import is_baseline
from tune.errors import UsageError
from tune.experiment import settings


def trial_data(exp_dir: Path, features: bool = True) -> dict:
    """What the trials train on, per model they may build: the train and val splits at its input
    size, its ImageNet weights if pretrained, and its cached activations if a trial has built
    them (not for the trials themselves: each loads them, built or not, from the experiment).
    Paths in experiment.json are relative to the experiment folder, so a moved experiment still
    finds them."""
    trial_settings = settings(exp_dir)["trial_settings"]
    return {
        model: model_data(exp_dir, trial_settings, model, features)
        for model in trial_settings["inputs"]
    }


def model_data(exp_dir: Path, trial_settings: dict, model: str, features: bool = True) -> dict:
    """One model's part of `trial_data` (without its cached features if not `features`)."""
    inputs = trial_settings["inputs"][model]
    data = load_splits(exp_dir / inputs["tensors_file"])
    if trial_settings.get("imagenet"):
        data["imagenet"] = imagenet_state(model, recorded_weights(trial_settings, model))
    if features and inputs.get("features_file") and (exp_dir / inputs["features_file"]).exists():
        data["features"] = torch.load(exp_dir / inputs["features_file"], weights_only=True)
    return data


def recorded_weights(trial_settings: dict, model: str) -> str | None:
    """The ImageNet weights file the search recorded for `model` (None: where models/weights.py
    finds it now: an experiment from before sources were recorded, or one moved to another
    machine, whose file must then be the same, by its sha256)."""
    source = trial_settings["inputs"][model].get("weights")
    if source is None:  # before 2026-12: one --weights-file, for resnet18
        return trial_settings.get("weights_file") if model == "resnet18" else None
    if Path(source["path"]).is_file():
        return source["path"]
    found = weights.resolve(model)
    if found["sha256"] != source["sha256"]:
        raise UsageError(
            f"the ImageNet weights this search used for {model} ({source['origin']}, sha256 "
            f"{source['sha256'][:12]}...) are no longer at {source['path']}: put them back there"
        )
    return found["path"]


def for_trial(config: dict, trial_settings: dict) -> dict:
    """The settings the training loop gets for one trial: the model its config drew (where the
    space searches `model`; the search's own otherwise), that model's input size, and its budget:
    `max_epochs` passes over the training split, whatever its epoch holds (the baseline
    excepted)."""
    model = config.get("model", trial_settings["model"])
    settings = {
        **trial_settings,
        "model": model,
        "image_size": trial_settings["inputs"][model]["image_size"],
        "precision": trial_settings["inputs"][model]["precision"],
        "features_file": trial_settings["inputs"][model].get("features_file"),
        "cut_stages": trial_settings["inputs"][model].get("cut_stages", 0),
    }
    # equal images; the baseline its full schedule (experiments from before passes: epochs)
    if trial_settings.get("budget") == "passes":
        if not is_baseline(config, trial_settings["baseline"]):
            settings["max_passes"] = trial_settings["max_epochs"]
    return settings
