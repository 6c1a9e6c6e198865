"""Choices that a few hundred photos can make: k-fold cross-validation over train + val.

On a 180-photo validation split one photo moves accuracy by 0.56 points, so close candidates are
ranked here on every labelled photo instead: stratified, seeded folds over train + val (never a
test photo), each fold scored by a model trained on the others; a candidate is its mean and
spread over the folds. What is cross-validated is cheap: a logistic regression (a probe) on the
pooled features of frozen ImageNet backbones, computed once per photo and once per mirror image.
The promoted probe is the same regression written into a frozen network's head
(`probe_network`), so `evaluate` and `predict` run it as any model. A search's frozen and
partial trials are cheap to retrain too (they train on cached activations): promotion ranks them
and the probe on the same folds (`cross_validate_trial`).
"""

from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from models import build_model
from models.outputs import probabilities
from training.features import VIEWS, cut_key, pooled
from training.loop import LoopSettings, train_passes
from training.precision import Precision

FOLDS = 5
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)  # the inverse penalty, chosen by the folds (0.01 never won)


@dataclass(frozen=True)
class Recipe:
    """A probe: one logistic regression per frozen backbone (at its input size), their
    probabilities averaged."""

    members: tuple[tuple[str, int], ...]  # (backbone, input size)
    mirrored_train: bool = True  # each training photo's mirror image is a second example
    flip_tta: bool = True  # a prediction averages the photo's and its mirror image's
    C: float = 0.1

    def describe(self) -> str:
        backbones = " + ".join(
            f"{name.removeprefix('efficientnet_')}@{size}" for name, size in self.members
        )
        return (
            f"{backbones}, mirrored training photos {'on' if self.mirrored_train else 'off'}, "
            f"flip TTA {'on' if self.flip_tta else 'off'}, C={self.C:g}"
        )


def folds(labels, k: int = FOLDS, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(training index, held-out index)] of k stratified folds, shuffled with `seed`."""
    labels = np.asarray(labels)
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(labels, labels))


def frozen_backbone(name: str, size: int, precision: Precision):
    model = build_model(name, {"weights": "imagenet", "freeze_backbone": True}, size)
    return precision.model(model).eval()


def features(name: str, size: int, images: torch.Tensor, precision: Precision) -> tuple:
    """(pooled features of the photos, of their mirror images): numpy, fp32. `images` are uint8,
    decoded at `size`."""
    model = frozen_backbone(name, size, precision)
    return tuple(pooled(model, name, x, precision).numpy() for x in (images, images.flip(-1)))


def fit(recipe: Recipe, feats: dict, labels, index=slice(None)) -> list[LogisticRegression]:
    """One regression per member, on the photos at `index` (and their mirror images)."""
    fitted = []
    for member in recipe.members:
        plain, mirrored = feats[member]
        x, y = plain[index], labels[index]
        if recipe.mirrored_train:
            x, y = np.concatenate([x, mirrored[index]]), np.concatenate([y, y])
        fitted.append(LogisticRegression(C=recipe.C, max_iter=5000).fit(x, y))
    return fitted


def outputs(recipe: Recipe, fitted: list, feats: dict, index=slice(None)) -> list[np.ndarray]:
    """(N, classes) probabilities of the photos at `index`, one array per member and view (the
    photo, and its mirror image with flip TTA): what a promoted model file averages."""
    views = (0, 1) if recipe.flip_tta else (0,)
    return [
        classifier.predict_proba(feats[member][view][index])
        for member, classifier in zip(recipe.members, fitted, strict=True)
        for view in views
    ]


def predict(recipe: Recipe, fitted: list, feats: dict, index) -> np.ndarray:
    """(N, classes) probabilities: the mean over members and views."""
    return np.mean(outputs(recipe, fitted, feats, index), axis=0)


def cross_validate(
    recipe: Recipe,
    feats: dict,
    labels,
    k: int = FOLDS,
    seed: int = 0,
) -> dict:
    """Per fold: accuracy and log loss on the held-out photos of a probe trained on the others.
    Also the out-of-fold probabilities of every photo."""
    labels = np.asarray(labels).astype(int)
    oof = np.zeros((len(labels), len(np.unique(labels))))
    accuracy, loss = [], []
    for train, held in folds(labels, k, seed):
        p = predict(recipe, fit(recipe, feats, labels, train), feats, held)
        oof[held] = p
        accuracy.append(float((p.argmax(1) == labels[held]).mean()))
        loss.append(log_loss(p, labels[held]))
    return {"accuracy": accuracy, "loss": loss, "oof": oof}


def summary(cv: dict) -> dict:
    """A cross-validation as test_scores.json records it: per fold, and the mean and spread."""
    return {
        "folds": len(cv["accuracy"]),
        "photos": len(cv["oof"]),
        "accuracy": cv["accuracy"],
        "loss": cv["loss"],
        "accuracy_mean": float(np.mean(cv["accuracy"])),
        "accuracy_sd": float(np.std(cv["accuracy"])),
        "loss_mean": float(np.mean(cv["loss"])),
    }


def log_loss(p: np.ndarray, labels: np.ndarray) -> float:
    """The mean cross-entropy of (N, classes) probabilities against the true classes."""
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1)).mean())


def choose_C(recipe: Recipe, feats: dict, labels, k: int = FOLDS, seed: int = 0) -> tuple:
    """The C of C_GRID with the lowest mean cross-validated log loss: (recipe with it, its
    cross-validation, {C: mean loss})."""
    tried = {}
    for c in C_GRID:
        candidate = replace(recipe, C=c)
        tried[c] = (candidate, cross_validate(candidate, feats, labels, k, seed))
    best = min(tried, key=lambda c: np.mean(tried[c][1]["loss"]))
    return *tried[best], {c: float(np.mean(cv["loss"])) for c, (_, cv) in tried.items()}


def probe_network(name: str, size: int, classifier: LogisticRegression):
    """The frozen backbone with the regression as its head: the same logits (decision function)
    as the regression on its pooled features."""
    model = build_model(
        name,
        {"weights": "imagenet", "freeze_backbone": True, "dropout": 0.0},
        size,
        num_classes=len(classifier.classes_),
    )
    head = model.net.classifier
    with torch.no_grad():
        head.weight.copy_(torch.tensor(classifier.coef_, dtype=head.weight.dtype))
        head.bias.copy_(torch.tensor(classifier.intercept_, dtype=head.bias.dtype))
    return model.eval()


# ---- a search's trials, retrained per fold on its cached activations ----------------------------


def joined(cache: dict) -> dict:
    """A search's cache (training photos in every view, validation photos in one) as one set of
    train + val photos in every view: a validation photo's views are all its one, unrotated and
    unmirrored, so in a fold it trains without rotations or flips."""
    views = cache["train"].shape[1]
    out = {key: cache[key] for key in ("angles", "mirrored", "cut_stages") if key in cache}
    for key, val_key in cached_pairs(cache):
        val = cache[val_key][:, None].expand(-1, views, *cache[val_key].shape[1:])
        out[key] = torch.cat([cache[key], val])
    return out


def cached_pairs(cache: dict) -> list[tuple[str, str]]:
    """(training key, validation key) of each kind of activation a cache holds."""
    stages = int(cache.get("cut_stages", 0))
    return [("train", "val")] + [
        (cut_key("train", k), cut_key("val", k)) for k in range(1, stages + 1)
    ]


def fold_data(cache: dict, labels: torch.Tensor, train, held, images=None) -> dict:
    """One fold in the form the training loop takes a search's data: the held-out photos in the
    place of val, their unrotated, unmirrored view as their cached input. `cache` covers every
    photo (`joined`); `images` (uint8, every photo) only for a trial that trains on photos."""
    plain = VIEWS.index((0.0, False))
    train, held = torch.as_tensor(train), torch.as_tensor(held)
    part = {key: cache[key] for key in ("angles", "mirrored", "cut_stages") if key in cache}
    for key, val_key in cached_pairs(cache):
        part[key], part[val_key] = cache[key][train], cache[key][held, plain]
    return {
        "train": (None if images is None else images[train], labels[train]),
        "val": (None if images is None else images[held], labels[held]),
        "features": part,
    }


def cross_validate_trial(
    config: dict,
    settings: LoopSettings,
    cache: dict,
    labels: torch.Tensor,
    passes: int,
    seed: int = 0,
    imagenet: dict | None = None,
) -> dict:
    """A trial's config retrained on each of the FOLDS folds of the photos `cache` covers
    (`joined`) for `passes` passes (its learning-rate schedule over its whole budget, as in the
    search), scored on the held-out fold: accuracy, log loss, out-of-fold probabilities (the same
    folds as the probe's `cross_validate` for the same labels and seed). `imagenet`: the
    pretrained weights its network starts from (models.imagenet_state)."""
    y = labels.numpy().astype(int)
    oof = np.zeros((len(y), len(np.unique(y))))
    accuracy, loss = [], []
    for train, held in folds(y, seed=seed):
        data = {**fold_data(cache, labels, train, held), "imagenet": imagenet}
        trained = train_passes(config, settings, data)
        state = next(state for metrics, state in trained if metrics["passes"] >= passes)
        p = probabilities(state["val_logits"]).numpy()
        oof[held] = p  # each photo in its own row
        accuracy.append(float((p.argmax(1) == y[held]).mean()))
        loss.append(log_loss(p, y[held]))
    return {"accuracy": accuracy, "loss": loss, "oof": oof}
