"""What validation (or cross-validation) chooses among: the single best trial, averages of the
top trials, each with flip TTA, and with a probe the probe alone and the best trial averaged
with it; each scored on validation (what chooses) and on test (reported)."""

from dataclasses import dataclass, fields

import torch

from models.ensemble import average
from training.metrics import scores as scores_of
from training.metrics import test_metrics
from tune.experiment import Experiment
from tune.promote import cv_choice
from tune.promote.members import Member
from tune.promote.photos import Photos
from tune.promote.probe import Probe


@dataclass
class Option:
    """One way to promote, scored: test_scores.json's `alternatives` hold each (but its logits)."""

    name: str
    members: int  # how many of the top trials it averages (0: the probe alone)
    hflip_tta: bool
    probe: bool  # the probe averaged in
    val_loss: float  # what chooses
    val_acc: float
    logits: torch.Tensor  # on the test split
    test: dict  # test metrics: reported, never chosen by
    cv_loss: float | None = None  # where cross-validation covers it (tune/promote/cv_choice.py)
    cv_acc: float | None = None
    mcnemar_vs_baseline: dict | None = None
    test_without_refit: dict | None = None  # --refit: the test before it
    refit: dict | None = None

    def as_json(self) -> dict:
        found = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "logits"}
        return {k: v for k, v in found.items() if v is not None}


def options(count: int, tta: bool) -> list[tuple[str, int, bool]]:
    """What validation chooses among: (name, how many of the top trials are averaged, flip TTA).
    Every size up to `count`: a weaker trial can make the average worse, and which one does
    is a question for validation."""
    found = [("single best", 1, False)] + ([("single best + flip TTA", 1, True)] if tta else [])
    for size in range(2, count + 1):
        found += [(f"ensemble of the top {size}", size, False)]
        found += [(f"ensemble of the top {size} + flip TTA", size, True)] if tta else []
    return found


def probe_weight(probe: Probe) -> float:
    """Each probe member's share in an average with trials: the probe as a whole weighs one."""
    return 1.0 / len(probe.recipe.members)


def combine(outputs: list, probe: Probe | None, split: str) -> torch.Tensor:
    """The trials' outputs (each view weighs one) averaged, with the probe's `split` outputs too
    when a probe is given, as model_file.Promoted averages them."""
    weights = [1.0] * len(outputs)
    if probe:  # its backbones together weigh as much as one trial
        outputs = outputs + probe.logits[split]
        weights += [probe_weight(probe)] * len(probe.logits[split])
    return outputs[0] if len(outputs) == 1 else average(outputs, weights)


def score_options(
    logits: list[dict], photos: Photos, tta: bool, probe: Probe | None
) -> list[Option]:
    """Every option (`options`, and with a probe: the probe alone and the single best averaged
    with it) scored on validation (what chooses) and on test (reported). Each member's logits are
    computed once; an option averages some of them, as model_file.Promoted (what evaluate and
    predict run) does, with the same models/ensemble.py."""
    specs = [(name, count, flip, False) for name, count, flip in options(len(logits), tta)]
    if probe:
        flip = probe.recipe.flip_tta
        specs += [("probe", 0, flip, True), ("single best + probe", 1, flip, True)]
    tried = []
    for name, count, flip, with_probe in specs:

        def combined(split, count=count, flip=flip, with_probe=with_probe):
            chosen = [z for member in logits[:count] for z in member[split][: 1 + flip]]
            return combine(chosen, probe if with_probe else None, split)

        val, test_logits = scores_of(combined("val"), photos.val_y), combined("test")
        test = test_metrics(photos.test_y, test_logits, photos.classes)
        tried.append(
            Option(name, count, flip, with_probe, val["loss"], val["accuracy"], test_logits, test)
        )
    return tried


def choose_option(
    opened: Experiment, members: list[Member], tried: list[Option], probe, photos, args
) -> tuple[Option, str, list]:
    """(the option promoted, how it was chosen, each member's cross-validation or None): by
    cross-validation over train + val where the members can be retrained on cached activations
    (tune/promote/cv_choice.py), by validation loss otherwise (ties: the simpler, listed first)."""
    if not args.cv:
        return min(tried, key=lambda o: o.val_loss), "validation loss (--no-cv)", [None]
    trials = [
        cv_choice.trial_cv(opened.folder, opened.settings, m.config, m.checkpoint) for m in members
    ]
    labels = torch.cat([photos.labels("train"), photos.labels("val")]).numpy().astype(int)
    chosen, how = cv_choice.rank(tried, trials, probe, labels)
    return chosen, how, trials
