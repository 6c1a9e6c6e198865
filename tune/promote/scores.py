"""test_scores.json: the winner's test figures, how it was chosen, the report's baseline on the
same photos, and McNemar's paired test of each option against the baseline and the probe."""

import torch

from training.metrics import mcnemar, test_metrics
from tune import experiment
from tune.experiment import Experiment
from tune.promote.members import Member, load_trial
from tune.promote.photos import Photos


def winner_scores(
    opened: Experiment, photos: Photos, members: list[Member], chosen, selection, unfinished
) -> dict:
    """test_scores.json without the baseline and the probe: the search, how the winner was
    chosen, its test. A winner that is the probe alone names no trial."""
    best = members[0]
    scores = {
        "experiment": opened.name,
        "space": opened.settings.space,
        "test_images": len(photos.test_y),
        "selection": selection,
        "unfinished": bool(unfinished),
        **({"unfinished_reason": unfinished} if unfinished else {}),
        "winner": {
            "trial": best.trial,
            "trial_id": best.trial_id,
            "config": best.config,
            "checkpoint": experiment.checkpoint_label(opened.folder, best.checkpoint),
            "val_loss": float(best.row["best_val_loss"]),
            "val_acc": float(best.row["best_val_acc"]),
            "test": chosen.test,
        },
    }
    if chosen.members == 0:
        scores["winner"].update(trial=None, trial_id="probe", config=None, checkpoint=None)
    if chosen.name != "single best":
        scores["winner"].update(
            val_loss=chosen.val_loss,
            val_acc=chosen.val_acc,
            ensemble={
                "name": chosen.name,
                "hflip_tta": chosen.hflip_tta,
                "probe": chosen.probe,
                "members": [
                    {
                        "trial": m.trial,
                        "trial_id": m.trial_id,
                        "checkpoint": experiment.checkpoint_label(opened.folder, m.checkpoint),
                    }
                    for m in members[: chosen.members]
                ],
            },
        )
    return scores


def baseline_scores(
    opened: Experiment, photos: Photos, members: list[Member], logits: list[dict]
) -> tuple[dict, torch.Tensor] | None:
    """The seed report's baseline on the same test photos: its scores and its test logits
    (None when it has no finished epoch)."""
    table = opened.table()
    baseline = table[table["baseline"] & (table["epochs"] > 0)]
    if baseline.empty:
        return None
    b = baseline.iloc[0]
    loaded = [i for i, m in enumerate(members) if m.trial_id == b["trial_id"]]
    if loaded:  # the baseline is one of the members (often the winner): already scored
        b_checkpoint, b_logits = members[loaded[0]].checkpoint, logits[loaded[0]]["test"][0]
    else:
        found = load_trial(opened, b)
        b_checkpoint = found.checkpoint
        b_logits = photos.logits(found.config, found.model, False, splits=("test",))["test"][0]
    return {
        "trial": int(b["trial"]),
        "trial_id": b["trial_id"],
        "checkpoint": experiment.checkpoint_label(opened.folder, b_checkpoint),
        "val_loss": float(b["best_val_loss"]),
        "val_acc": float(b["best_val_acc"]),
        "test": test_metrics(photos.test_y, b_logits, photos.classes),
    }, b_logits


def compare(scores: dict, tried: list, chosen, baseline, probe, photos: Photos):
    """McNemar's paired test of the winner and of every option against the report's baseline,
    and of the winner against the probe alone, all on the same test photos."""
    if baseline:
        scores["baseline"], b_logits = baseline
        scores["mcnemar_winner_vs_baseline"] = mcnemar(photos.test_y, chosen.logits, b_logits)
        for option in tried:
            option.mcnemar_vs_baseline = mcnemar(photos.test_y, option.logits, b_logits)
    if probe:
        alone = next(option for option in tried if option.name == "probe")
        scores["probe"] = {**probe.summary, "test": alone.test}
        scores["mcnemar_winner_vs_probe"] = mcnemar(
            photos.test_y, chosen.logits, alone.logits, b="probe"
        )
