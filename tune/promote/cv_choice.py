"""Promotion's choice by cross-validation over train + val, where it can be afforded.

On data set 1 the 180 validation photos are easier than the rest (the probe's cross-validated
accuracy is ~90%, its validation accuracy 94-95%) and once ranked a fine-tuned trial above the
probe that made three fewer errors on photos no part of the project had seen. So the options
are ranked on every labelled photo instead: each promoted trial's config retrained on each of 5
folds of train + val (training/crossval.py `cross_validate_trial`, on the search's cached
activations), the probe on the same folds (probe.py here), and an average of several judged by
the average of their out-of-fold probabilities, as model_file averages them.

Where that cannot be afforded, validation decides, and test_scores.json says so: a trial that
trains the whole network (the report's baseline, a fine-tuned trial: five retrainings of a
whole network are hours here), a search without a cache file, and flip test-time augmentation
(validation photos are cached unmirrored only).
"""

from pathlib import Path

import numpy as np
import torch

from training import crossval
from training.loop import uses_cached_activations, uses_cached_features
from tune import trial_inputs
from tune.settings import Settings


def trial_cv(exp_dir: Path, exp: Settings, config: dict, checkpoint, say=print) -> dict | None:
    """A promoted trial's cross-validation at the passes of its promoted checkpoint; None where
    the trial does not train on cached activations or the search built none for its model."""
    settings = trial_inputs.for_trial(config, exp.trial_settings)
    cache_file = exp_dir / (exp.trial_settings.inputs[settings.model].features_file or "none")
    if not config.get("freeze_backbone") or not cache_file.is_file():
        return None
    cache = torch.load(cache_file, weights_only=True, mmap=True)
    if not (
        uses_cached_features(config, {"features": cache})
        or uses_cached_activations(config, {"features": cache})
    ):
        return None
    data = trial_inputs.model_data(exp_dir, exp.trial_settings, settings.model, False)
    labels = torch.cat([data["train"][1], data["val"][1]])
    with checkpoint.as_directory() as folder:
        passes = torch.load(Path(folder) / "checkpoint.pt", weights_only=True)["passes"]
    say(
        f"Cross-validating {settings.model} (unfrozen stages: "
        f"{config.get('unfrozen_stages', 0)}) over train + val: {crossval.FOLDS} folds x "
        f"{passes} passes"
    )
    return crossval.cross_validate_trial(
        config, settings, crossval.joined(cache), labels, passes, 0, data.get("imagenet")
    )


def option_cv(option, trials: list, probe, labels: np.ndarray) -> tuple[float, float] | None:
    """An option's cross-validated log loss and accuracy from its parts' out-of-fold
    probabilities, weighted as the promoted model weighs them; None if any part has none."""
    parts = [trial["oof"] if trial else None for trial in trials[: option.members]]
    # flip TTA of trials: validation photos are cached unmirrored only (the probe's own flip TTA
    # is in its out-of-fold probabilities already)
    if (option.hflip_tta and parts) or any(part is None for part in parts):
        return None
    weights = [1.0] * len(parts)
    if option.probe:
        if not probe:
            return None
        parts, weights = parts + [probe.oof], weights + [1.0]  # the probe weighs one trial
    # the mean of the parts' probabilities, as models/ensemble.py averages them
    p = np.average(parts, axis=0, weights=weights)
    return crossval.log_loss(p, labels), float((p.argmax(1) == labels).mean())


def rank(tried: list, trials: list, probe, labels: np.ndarray) -> tuple:
    """The chosen option and how: by cross-validation among the options it covers when it
    covers the single best trial, by validation loss otherwise."""
    for option in tried:
        option.cv_loss, option.cv_acc = option_cv(option, trials, probe, labels) or (None, None)
    covered = [option for option in tried if option.cv_loss is not None]
    if any(o.name == "single best" for o in covered):
        return min(covered, key=lambda o: o.cv_loss), (
            f"{crossval.FOLDS}-fold cross-validation over train + val (log loss), among the "
            f"{len(covered)} options it covers"
        )
    return min(tried, key=lambda o: o.val_loss), "validation loss"
