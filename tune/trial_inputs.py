"""What one trial trains on and with: the splits, ImageNet weights and cached features an
experiment recorded for each model it may build, and the settings the training loop gets for a
trial's config. Read by the Ray workers, tune.promote, refit and the cross-validation."""

from pathlib import Path

import torch

from data_utils.prepare import load_splits
from models import imagenet_state, weights
from training.loop import LoopSettings
from training.precision import Precision
from tune import is_baseline
from tune.errors import UsageError
from tune.settings import TrialSettings, read


def trial_data(exp_dir: Path, features: bool = True) -> dict:
    """What the trials train on, per model they may build: the train and val splits at its input
    size, its ImageNet weights if pretrained, and its cached activations if a trial has built
    them (not for the trials themselves: each loads them, built or not, from the experiment).
    Paths in experiment.json are relative to the experiment folder, so a moved experiment still
    finds them."""
    trial_settings = read(exp_dir).trial_settings
    return {
        model: model_data(exp_dir, trial_settings, model, features)
        for model in trial_settings.inputs
    }


def model_data(
    exp_dir: Path, trial_settings: TrialSettings, model: str, features: bool = True
) -> dict:
    """One model's part of `trial_data` (without its cached features if not `features`)."""
    inputs = trial_settings.inputs[model]
    data = load_splits(exp_dir / inputs.tensors_file)
    if trial_settings.imagenet:
        data["imagenet"] = imagenet_state(model, recorded_weights(trial_settings, model))
    if features and inputs.features_file and (exp_dir / inputs.features_file).exists():
        data["features"] = torch.load(exp_dir / inputs.features_file, weights_only=True)
    return data


def recorded_weights(trial_settings: TrialSettings, model: str) -> str | None:
    """The ImageNet weights file the search recorded for `model` (None: where models/weights.py
    finds it now: an experiment from before sources were recorded, or one moved to another
    machine, whose file must then be the same, by its sha256)."""
    source = trial_settings.inputs[model].weights
    if source is None:  # before 2026-12: one --weights-file, for resnet18
        return trial_settings.weights_file if model == "resnet18" else None
    if Path(source["path"]).is_file():
        return source["path"]
    found = weights.resolve(model)
    if found["sha256"] != source["sha256"]:
        raise UsageError(
            f"the ImageNet weights this search used for {model} ({source['origin']}, sha256 "
            f"{source['sha256'][:12]}...) are no longer at {source['path']}: put them back there"
        )
    return found["path"]


def for_trial(config: dict, trial_settings: TrialSettings, seed: int | None = None) -> LoopSettings:
    """The settings the training loop gets for one trial: the model its config drew (where the
    space searches `model`; the search's own otherwise), that model's input size and precision,
    and its budget: `budget` passes over the training split, whatever its epoch holds (the
    baseline excepted). `seed`: another than the search's (promotion's retraining)."""
    model = config.get("model", trial_settings.model)
    inputs = trial_settings.inputs[model]
    # equal images; the baseline its full schedule (experiments from before passes: epochs)
    capped = trial_settings.budget_unit == "passes" and not is_baseline(
        config, trial_settings.baseline
    )
    return LoopSettings(
        model=model,
        image_size=inputs.image_size,
        max_epochs=trial_settings.budget,
        seed=trial_settings.seed if seed is None else seed,
        classes=len(trial_settings.classes),
        precision=Precision(**inputs.precision),
        max_passes=trial_settings.budget if capped else None,
    )
