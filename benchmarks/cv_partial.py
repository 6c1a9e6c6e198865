"""How much of a pretrained backbone to train, by cross-validation over train + val only. Run by
hand (each backbone in its own process, one thread each, as two trials run):

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/cv_partial.py --models efficientnet_lite0

Per backbone: the frozen part's activations of every photo under the six cached views
(training/features.py VIEWS) are computed once, as a search computes them; then rows k = 0 (the
head on pooled features), k = 1 and k = 2 (the last k stages trained on their cached input)
train on each of 5 stratified folds (training/crossval.py `folds`) through the real training
loop (training/loop.py, what a trial runs), and full fine-tuning (every layer, on the photos,
flips and rotations computed per image) on --full-folds of them: it costs 5-50x a partial
pass. The test split is never decoded. Every row trains --passes passes with one recipe
(RECIPE, the lr per row from LR), and is scored on its held-out fold after its last pass.
Prints the CPU, the cache's cost and, per row, the mean and spread of accuracy and log loss
over folds and the seconds a pass costs.
"""

import argparse
import time

import numpy as np
import torch

from benchmarks import compute
from models import PARTIAL, imagenet_state
from training import crossval, features
from training.loop import LoopSettings, train_passes
from training.precision import choose

SIZES = {"efficientnet_lite0": 224, "efficientnet_lite1": 320, "efficientnet_lite2": 260}
# one recipe for every row: the report's Adam with weight decay, its rotation, mirrored photos,
# head dropout, cosine decay over the passes
RECIPE = {
    "weights": "imagenet",
    "batch_size": 32,
    "rotation": 10.0,
    "hflip": True,
    "dropout": 0.2,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "lr_schedule": "cosine",
    "freeze_backbone": True,
}
# a head alone learns fastest at a higher rate; whole networks at a lower one
LR = {0: 3e-3, 1: 1e-3, 2: 1e-3, "full": 3e-4}


def labelled(data_root, size: int, per_class: int | None = None):
    """Train + val at `size` (uint8) and their labels; the test split is not used."""
    tensors = compute.prepared(data_root, size, per_class).tensors
    (train_x, train_y), (val_x, val_y) = tensors["train"], tensors["val"]
    return torch.cat([train_x, val_x]), torch.cat([train_y, val_y])


def run_row(name, size, k, data, imagenet, passes, precision) -> tuple[dict, float]:
    """(the held-out scores after the last pass, seconds per pass) of one row on one fold."""
    config = {**RECIPE, "lr": LR[k]}
    if k == "full":
        config["freeze_backbone"] = False
    else:
        config["unfrozen_stages"] = k
    settings = LoopSettings(
        seed=0, model=name, image_size=size, precision=precision, max_epochs=passes
    )
    started = time.perf_counter()
    *_, (metrics, _) = train_passes(config, settings, {**data, "imagenet": imagenet})
    return metrics, (time.perf_counter() - started) / passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--full-folds", type=int, default=2)
    parser.add_argument(
        "--partial-folds", type=int, help="train k = 0, 1, 2 on only this many folds (a cost check)"
    )
    parser.add_argument("--per-class", type=int, help="at most this many photos a class (a check)")
    parser.add_argument("--rows", nargs="+", default=["0", "1", "2", "full"])
    compute.add_flags(parser, threads=1)
    args = parser.parse_args()
    compute.set_up(args)
    rows = [row if row == "full" else int(row) for row in args.rows]
    print("| backbone | k | folds | accuracy % | log loss | s / pass |\n|---|---|---|---|---|---|")
    for name in args.models:
        size, precision = SIZES[name], choose(args.precision, name)
        images, labels = labelled(args.data_root, size, args.per_class)
        imagenet = imagenet_state(name)
        started = time.perf_counter()
        cache = features.extract(
            name, size, images, images[:1], precision, imagenet, lambda line: None, cut_stages=2
        )
        cost = time.perf_counter() - started
        print(
            f"{name}@{size} ({precision.describe()}): cached {len(features.VIEWS)} views of "
            f"{len(images)} photos (pooled, and the inputs of stages {PARTIAL[name][0] - 2} and "
            f"{PARTIAL[name][0] - 1}) in "
            f"{cost:.0f} s, {1000 * cost / len(images) / len(features.VIEWS):.0f} ms a view",
            flush=True,
        )
        for k in rows:
            count = args.full_folds if k == "full" else (args.partial_folds or args.folds)
            scores, seconds = [], []
            for train, held in crossval.folds(labels.numpy(), k=args.folds)[:count]:
                data = crossval.fold_data(cache, labels, train, held, images)
                metrics, per_pass = run_row(name, size, k, data, imagenet, args.passes, precision)
                scores.append((metrics["val_acc"], metrics["val_loss"]))
                seconds.append(per_pass)
            acc, loss = np.array(scores).T
            print(
                f"| {name} | {k} | {count} | {100 * acc.mean():.1f} ± {100 * acc.std():.1f} | "
                f"{loss.mean():.3f} ± {loss.std():.3f} | {np.mean(seconds):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
