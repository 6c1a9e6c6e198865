"""`tune.promote --refit`: each promoted trial's config trained again, on train + val.

The rule for how long: as many passes as its best checkpoint had trained, each now over train +
val (so ~31% more steps on data set 1), with the trial's own learning-rate schedule, which runs
over the search's budget as in the search. Whether more photos help is measured by
cross-validation (benchmarks/cv_levers.py) for the probe; a fine-tuned network's refit has no
held-out photos left to check it on, so the flag leaves the choice to the user. The test split is
never part of it: the photos are the experiment's train and val splits, as its manifest lists
them."""

from collections import deque
from dataclasses import replace
from itertools import islice
from pathlib import Path

import torch

from models import build_model
from training.loop import CHECKPOINT_FILE, train_passes
from training.metrics import test_metrics
from tune import trial_inputs
from tune.experiment import Experiment
from tune.promote.members import Member
from tune.promote.options import combine
from tune.settings import Settings


def train_and_val(exp_dir: Path, exp: Settings, model_name: str) -> dict:
    """The training loop's data for a refit: train + val as its training photos (no cached
    features: those hold no rotated views of val). Its "val" is the val split again, so its
    validation figures are on photos it trained on: not a score."""
    data = trial_inputs.model_data(exp_dir, exp.trial_settings, model_name, features=False)
    (train_x, train_y), (val_x, val_y) = data["train"], data["val"]  # never the test split
    data["train"] = (torch.cat([train_x, val_x]), torch.cat([train_y, val_y]))
    return data


def refit(exp_dir: Path, exp: Settings, config: dict, checkpoint, say=print):
    """The config retrained on train + val for its best checkpoint's passes: (network, passes).
    A frozen backbone's head trains through the backbone here (no cached features of val's
    rotated views), which is slower, not different."""
    settings = trial_inputs.for_trial(config, exp.trial_settings)
    with checkpoint.as_directory() as folder:
        passes = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True)["passes"]
    data = train_and_val(exp_dir, exp, settings.model)
    say(
        f"Refit: {settings.model} for {passes} pass(es) over {len(data['train'][1])} "
        "train + val photos ..."
    )
    _, state = deque(islice(train_passes(config, settings, data), passes), maxlen=1)[0]
    model = build_model(
        settings.model,
        {**config, "weights": "none"},
        settings.image_size,
        num_classes=settings.classes,
    )
    model.load_state_dict(state["model"])
    return model.eval(), passes


def refit_chosen(opened: Experiment, photos, members: list[Member], chosen, probe) -> list[Member]:
    """`--refit`: the chosen option's trials retrained on train + val (`refit` above), its test
    figures now the refitted models' (the first ones kept beside them, for the record); returns
    the members with their refitted networks."""
    refitted, record = [], []
    for member in members[: chosen.members]:
        model, passes = refit(opened.folder, opened.settings, member.config, member.checkpoint)
        refitted.append(replace(member, model=model))
        record.append({"trial": member.trial, "passes": passes})
    logits = [
        photos.logits(m.config, m.model, chosen.hflip_tta, ("test",))["test"] for m in refitted
    ]
    outputs = [z for member in logits for z in member]
    chosen.logits = combine(outputs, probe if chosen.probe else None, "test")
    chosen.test_without_refit = chosen.test
    chosen.test = test_metrics(photos.test_y, chosen.logits, photos.classes)
    chosen.refit = {
        "members": record,
        "trained_on": {"train": len(photos.labels("train")), "val": len(photos.val_y)},
    }
    return refitted + members[chosen.members :]
