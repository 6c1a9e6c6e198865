"""How much do cached features save a frozen-backbone trial? Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/feature_cache.py

In ONE run, on the real photos (data set 1's experiment split, seed 0), it trains the same
frozen-backbone efficientnet_lite0 trial (ImageNet weights, head only) for --epochs epochs two
ways, with the precision `--precision` (default auto) picks on this CPU:
  (a) uncached: every epoch runs the backbone on every (randomly rotated) training image;
  (b) cached: the backbone's features computed once (training/features.py), then the head trains
      on them.
It prints the CPU's capabilities, the one-off cost of building the cache, the seconds per epoch
of each (validation included), their ratio, and the validation accuracy each reaches.
"""

import argparse
import time

import torch

from benchmarks import compute
from training import features, precision
from training.loop import LoopSettings, train_passes

MODEL, SIZE = "efficientnet_lite0", 224
CONFIG = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout": 0.2,
    "freeze_backbone": True,
    "rotation": 10.0,
    "offline_rotations": False,
    "batch_size": 32,
    "weights": "imagenet",
}


def seconds_per_epoch(data, epochs, chosen):
    settings = LoopSettings(
        model=MODEL, image_size=SIZE, max_epochs=epochs, seed=0, precision=chosen
    )
    start = time.perf_counter()
    for metrics, _ in train_passes(CONFIG, settings, data):  # noqa: B007  read after the loop
        pass
    return (time.perf_counter() - start) / epochs, metrics["val_acc"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--precision", choices=precision.CHOICES, default="auto")
    p.add_argument("--data-root")
    args = p.parse_args()
    chosen = precision.choose(args.precision)
    print(f"CPU: {precision.cpu_capabilities()}", flush=True)
    print(
        f"computing in {chosen.describe()} (--precision {args.precision}), "
        f"torch {torch.__version__}",
        flush=True,
    )
    data = compute.photos(args.data_root, SIZE)
    splits = {"train": data["train"], "val": data["val"]}

    uncached, uncached_acc = seconds_per_epoch(splits, args.epochs, chosen)
    print(
        f"(a) uncached: {uncached:.2f} s/epoch on {len(data['train'][1])} images, val "
        f"acc {uncached_acc:.3f}",
        flush=True,
    )
    start = time.perf_counter()
    cache = features.extract(
        MODEL, SIZE, data["train"][0], data["val"][0], chosen, progress=lambda _: None
    )
    built = time.perf_counter() - start
    cached, cached_acc = seconds_per_epoch({**splits, "features": cache}, args.epochs, chosen)
    print(
        f"(b) cached: {cached:.3f} s/epoch, val acc {cached_acc:.3f}; building the cache "
        f"once: {built:.1f} s ({len(features.VIEWS)} views of each training image + the val "
        "images)"
    )
    print(
        f"per epoch, cached is {uncached / cached:.0f}x faster; accuracy "
        f"gap {100 * (cached_acc - uncached_acc):+.1f} points; the cache pays for itself "
        f"after {built / (uncached - cached):.1f} epochs of one trial"
    )


if __name__ == "__main__":
    main()
