"""How far does the report's CNN get on validation, whatever the recipe? Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/cnn_recipes.py [--variants report flip_cosine_128 ...]

Trains the report's CNN from scratch (data set 1's experiment split, seed 0) with the report's
config and with variants of it the search could draw or a user might try next: longer training
with a cosine schedule, flips, heavy augmentation, smaller input photos (which only narrows fc1:
the same network). Prints, per variant, its best validation loss and accuracy and the epoch of
each, the last epoch's training accuracy, and the seconds an epoch took. Validation only: the
test split is never read here.
"""
import argparse
import time

from benchmarks import compute
from data_utils.layout import resolve_data_root
from data_utils.prepare import prepare
import search_spaces
from training.loop import train_epochs

FLIP_COSINE = {"hflip": True, "lr_schedule": "cosine"}
VARIANTS = {  # name: (changes to the report's config, input size, epochs)
    "report": ({}, 256, 10),
    "report_30_epochs": ({}, 256, 30),
    "flip_cosine_128": (FLIP_COSINE, 128, 30),
    "report_128": ({}, 128, 30),
    "report_64": ({}, 64, 30),
    "heavy_augmentation": ({**FLIP_COSINE, "color_jitter": 0.2, "crop_scale": 0.5}, 256, 30),
    "heavy_augmentation_no_dropout": ({**FLIP_COSINE, "color_jitter": 0.2, "crop_scale": 0.5,
                                       "dropout_placement": "none", "dropout_before_fc1": 0.0,
                                       "dropout_after_fc1": 0.0}, 128, 30),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                   default=["report", "flip_cosine_128", "report_64", "heavy_augmentation_no_dropout"])
    compute.add_flags(p, threads=2)
    args = p.parse_args()
    chosen = compute.set_up(args)
    # the report's offline rotated copies triple an epoch and "changed little": off in every variant
    report = {**search_spaces.load("cnn_dataset1").baseline, "offline_rotations": False}
    print("| variant | input | epochs | best val loss (epoch) | best val acc (epoch) | last train acc | s/epoch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    decoded = {}  # input size -> the photos at that size, decoded once for every variant using it
    for name in args.variants:
        changes, size, epochs = VARIANTS[name]
        if size not in decoded:
            decoded[size] = prepare(resolve_data_root(args.data_root), "smoker_detection", size, seed=0).tensors
        data = decoded[size]
        settings = {"model": "seed_cnn", "image_size": size, "max_epochs": epochs, "seed": 0,
                    "precision": chosen.as_dict()}
        start, history = time.perf_counter(), []
        for metrics, _ in train_epochs({**report, **changes}, settings, {"train": data["train"], "val": data["val"]}):
            history.append(metrics)
        seconds = (time.perf_counter() - start) / epochs
        loss = min(history, key=lambda m: m["val_loss"])
        acc = max(history, key=lambda m: m["val_acc"])
        print(f"| {name} | {size} | {epochs} | {loss['val_loss']:.4f} ({loss['epoch']}) | {acc['val_acc']:.3f} "
              f"({acc['epoch']}) | {history[-1]['train_acc']:.3f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
