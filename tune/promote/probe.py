"""The probe every pretrained search must beat, as `tune.promote` fits it: logistic regressions
on frozen ImageNet backbones' features (training/crossval.py), C chosen by 5-fold
cross-validation over train + val, then refitted on train + val (cross-validation, not the test
split, says that more photos help: benchmarks/README.md).

It is scored twice: fitted on the training split alone (C chosen by folds of the training split
alone) on validation, where it competes with the search's options on the photos they were chosen
on; and refitted on train + val on test, where it is what is promoted if validation chose it,
and what the promoted model is compared with (McNemar) if not. Both through the networks that
`model.pt` would hold, in the search's precision, as `evaluate` computes."""

from dataclasses import dataclass

import numpy as np

from models import CACHED_FEATURES
from training import crossval
from training.crossval import Recipe

L0, L1, L2 = "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"
# The best row of benchmarks/cv_levers.py (cross-validation over train + val, data set 1)
DEFAULT = Recipe(
    members=((L0, 288), (L1, 360), (L1, 400), (L2, 340)), mirrored_train=True, flip_tta=True
)


@dataclass
class Probe:
    """The probe as fitted: what an option averages in, model.pt saves and test_scores.json says."""

    recipe: Recipe  # with the C chosen over train + val
    summary: dict  # test_scores.json's `probe` (its test figures are added when scored)
    oof: np.ndarray  # out-of-fold probabilities over train + val (tune/promote/cv_choice.py)
    logits: dict  # split -> one tensor per member and view: val fitted on train, test refitted
    networks: list  # (model name, config, network, input size) of each refitted member


def applies(exp) -> bool:
    """A probe needs a frozen backbone whose features it can read: the search's models must
    include one (an EfficientNet-Lite)."""
    return any(name in CACHED_FEATURES for name in exp.trial_settings.inputs)


def networks(recipe: Recipe, fitted: list) -> list[tuple]:
    """(model name, config, network, input size) of each member: a frozen backbone whose head is
    its regression."""
    return [
        (
            name,
            {"model": name, "freeze_backbone": True, "dropout": 0.0},
            crossval.probe_network(name, size, classifier),
            size,
        )
        for (name, size), classifier in zip(recipe.members, fitted, strict=True)
    ]


def fit(photos, recipe: Recipe = DEFAULT, say=print) -> Probe:
    """`photos`: tune.promote.Photos. The probe's C and cross-validation (train + val), its logits
    on validation (fitted on train) and on test (refitted on train + val), one tensor per member
    and view, and the refitted networks."""
    labels = {split: photos.labels(split).numpy().astype(int) for split in ("train", "val")}
    feats = {"train": {}, "val": {}}
    for name, size in recipe.members:
        say(f"Probe: features of {name} at {size} px (train + val and their mirror images)")
        for split in feats:
            feats[split][(name, size)] = crossval.features(
                name, size, photos.images(size, split), photos.precision
            )
    train_only, _, _ = crossval.choose_C(recipe, feats["train"], labels["train"])
    on_train = networks(train_only, crossval.fit(train_only, feats["train"], labels["train"]))

    both = {
        m: tuple(np.concatenate([feats["train"][m][v], feats["val"][m][v]]) for v in (0, 1))
        for m in recipe.members
    }
    both_y = np.concatenate([labels["train"], labels["val"]])
    chosen, cv, loss_by_c = crossval.choose_C(recipe, both, both_y)
    refit = networks(chosen, crossval.fit(chosen, both, both_y))
    say(
        f"Probe ({chosen.describe()}): {crossval.FOLDS}-fold cross-validation over train + val "
        f"({len(both_y)} photos): accuracy {100 * np.mean(cv['accuracy']):.1f}% "
        f"(sd {100 * np.std(cv['accuracy']):.1f}), log loss {np.mean(cv['loss']):.4f}"
    )

    def logits(members: list, split: str) -> list:
        return [
            z
            for _, config, net, size in members
            for z in photos.logits(config, net, chosen.flip_tta, (split,), size)[split]
        ]

    summary = {
        "recipe": chosen.describe(),
        "C": chosen.C,
        "C_on_the_training_split_alone": train_only.C,
        "cv": {**crossval.summary(cv), "loss_by_C": {str(c): v for c, v in loss_by_c.items()}},
        "refit_on": {"train": len(labels["train"]), "val": len(labels["val"])},
    }
    split_logits = {"val": logits(on_train, "val"), "test": logits(refit, "test")}
    return Probe(chosen, summary, cv["oof"], split_logits, refit)
