"""Which levers help a pretrained model on data set 1, by cross-validation over train + val only.
Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/cv_levers.py [--repeats 3]

Every row is a probe (training/crossval.py: logistic regressions on frozen ImageNet features,
averaged) scored by stratified 5-fold cross-validation over the 752 training and validation
photos, repeated with --repeats seeds; C is chosen per row by the same folds (from
crossval.C_GRID). The levers: the backbone and its input size, mirrored training photos, flip
test-time augmentation, several scales or backbones averaged, a decision threshold chosen on
out-of-fold predictions, and more photos (each fold trained on 76% of its photos, the share the
training split is of train + val: what refitting on train + val adds). The test split is
decoded with the others (benchmarks/compute.py prepares a search's data) but never used.
"""

import argparse
import time

import numpy as np
import torch

from benchmarks import compute
from training import crossval
from training.crossval import Recipe

L0, L1, L2 = "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"
BACKBONES = [(L0, 224), (L0, 288), (L1, 320), (L1, 360), (L1, 400), (L2, 260), (L2, 340)]
TRAIN_SHARE = 572 / 752  # the training split's share of train + val


def labelled_photos(data_root, size: int):
    """Train + val at `size` (uint8) and their labels; the test split stays out."""
    tensors = compute.photos(data_root, size)
    (train_x, train_y), (val_x, val_y) = tensors["train"], tensors["val"]
    return torch.cat([train_x, val_x]), np.concatenate([train_y, val_y]).astype(int)


def row(name: str, cvs: list[dict], c) -> str:
    acc = np.array([a for cv in cvs for a in cv["accuracy"]])
    loss = np.array([x for cv in cvs for x in cv["loss"]])
    return (
        f"| {name} | {c} | {100 * acc.mean():.1f} ± {100 * acc.std():.1f} | "
        f"{loss.mean():.4f} ± {loss.std():.4f} |"
    )


def threshold_cv(recipe: Recipe, feats: dict, labels, seed: int) -> dict:
    """Nested: each outer fold's threshold maximises accuracy on out-of-fold predictions of its
    own training photos (binary labels), then decides its held-out photos."""
    accuracy, loss = [], []
    for train, held in crossval.folds(labels, seed=seed):
        inner = crossval.cross_validate(
            recipe,
            {m: (f[0][train], f[1][train]) for m, f in feats.items()},
            labels[train],
            seed=seed,
        )["oof"][:, 1]
        grid = np.linspace(0.2, 0.8, 61)
        best = grid[np.argmax([((inner > t) == labels[train]).mean() for t in grid])]
        p = crossval.predict(recipe, crossval.fit(recipe, feats, labels, train), feats, held)
        accuracy.append(float(((p[:, 1] > best) == labels[held]).mean()))
        loss.append(crossval.log_loss(p, labels[held]))
    return {"accuracy": accuracy, "loss": loss}


def subsample(index: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified, seeded share of `index` (what training on fewer photos would have had)."""
    rng = np.random.default_rng(seed)
    kept = []
    for c in np.unique(labels[index]):
        of_class = index[labels[index] == c]
        kept.append(rng.permutation(of_class)[: round(fraction * len(of_class))])
    return np.sort(np.concatenate(kept))


def fewer_photos_cv(recipe: Recipe, feats: dict, labels, seed: int, fraction: float) -> dict:
    """crossval.cross_validate with each fold trained on `fraction` of its training photos."""
    accuracy, loss = [], []
    for fold, (train, held) in enumerate(crossval.folds(labels, seed=seed)):
        train = subsample(train, labels, fraction, seed + fold)
        p = crossval.predict(recipe, crossval.fit(recipe, feats, labels, train), feats, held)
        accuracy.append(float((p.argmax(1) == labels[held]).mean()))
        loss.append(crossval.log_loss(p, labels[held]))
    return {"accuracy": accuracy, "loss": loss}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=1, help="cross-validations with other seeds")
    compute.add_flags(p, threads=2)
    args = p.parse_args()
    chosen = compute.set_up(args)
    seeds = range(args.repeats)

    feats, labels = {}, None
    for name, size in BACKBONES:
        started = time.perf_counter()
        images, labels = labelled_photos(args.data_root, size)
        feats[(name, size)] = crossval.features(name, size, images, chosen)
        print(f"features {name}@{size}: {time.perf_counter() - started:.0f} s", flush=True)

    def cv(recipe: Recipe, label: str, fraction: float = 1.0):
        """The row of a recipe with C chosen by its folds (seed 0), then every seed's folds."""
        recipe, _, _ = crossval.choose_C(recipe, feats, labels)
        cvs = [
            crossval.cross_validate(recipe, feats, labels, seed=s)
            if fraction == 1.0
            else fewer_photos_cv(recipe, feats, labels, s, fraction)
            for s in seeds
        ]
        print(row(label, cvs, recipe.C), flush=True)
        return recipe, np.mean([np.mean(c["loss"]) for c in cvs])

    print(
        f"\n{crossval.FOLDS}-fold cross-validation over train + val ({len(labels)} photos), "
        f"{args.repeats} seed(s)\n\n| recipe | C | accuracy % (mean ± sd over folds) | log loss |"
        "\n| --- | --- | --- | --- |"
    )
    singles = {m: cv(Recipe((m,)), f"{m[0].removeprefix('efficientnet_')}@{m[1]}") for m in feats}
    best_member = min(singles, key=lambda m: singles[m][1])
    best = singles[best_member][0]
    one = best_member[0].removeprefix("efficientnet_") + f"@{best_member[1]}"
    cv(Recipe(best.members, mirrored_train=False), f"{one}, no mirrored training photos")
    cv(Recipe(best.members, flip_tta=False), f"{one}, no flip TTA")
    cv(Recipe(best.members, False, False), f"{one}, neither")
    cv(best, f"{one}, trained on 76% of the photos (no refit)", TRAIN_SHARE)
    cvs = [threshold_cv(best, feats, labels, s) for s in seeds]
    print(row(f"{one}, threshold from out-of-fold predictions", cvs, best.C), flush=True)
    for members in (
        ((L1, 320), (L1, 360), (L1, 400)),
        ((L1, 360), (L2, 340)),
        ((L0, 288), (L1, 360), (L2, 340)),
        ((L0, 288), (L1, 360), (L1, 400), (L2, 340)),
    ):
        label = " + ".join(f"{m[0].removeprefix('efficientnet_')}@{m[1]}" for m in members)
        recipe, _ = cv(Recipe(members), label)
        if len(members) == 4:
            cv(recipe, f"{label}, trained on 76% of the photos (no refit)", TRAIN_SHARE)


if __name__ == "__main__":
    main()
