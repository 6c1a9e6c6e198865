"""How far does the report's CNN get on validation, whatever the recipe? Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/cnn_recipes.py \
        [--variants report flip_cosine_128 ...] [--seeds N]

Trains the report's CNN from scratch (data set 1's experiment split) with the report's config
and with variants of it the search could draw or a user might try next: longer training with a
cosine schedule, flips, heavy augmentation, smaller input photos (which only narrows fc1: the
same network), and, for comparison, a far deeper network from scratch (torchvision's ResNet18,
random init). Prints, per variant and seed, its best validation loss and accuracy and the epoch
of each, the last epoch's training accuracy, and the seconds an epoch took; with `--seeds N` (N
> 1), also the ensemble of the N seeds (their probabilities averaged, each at its best epoch),
which tells a network's bias from its seed-to-seed variance. Validation only: the test split
is never read here.
"""

import argparse
import time

import search_spaces
from benchmarks import compute
from models import INPUTS, build_model
from models.ensemble import average
from training.loop import LoopSettings, predict_logits, train_passes
from training.metrics import scores

FLIP_COSINE = {"hflip": True, "lr_schedule": "cosine"}
HEAVY = {**FLIP_COSINE, "color_jitter": 0.2, "crop_scale": 0.5}
NO_DROPOUT = {"dropout_placement": "none", "dropout_before_fc1": 0.0, "dropout_after_fc1": 0.0}
VARIANTS = {  # name: (model, changes to the report's config, input size, epochs)
    "report": ("seed_cnn", {}, 256, 10),
    "report_30_epochs": ("seed_cnn", {}, 256, 30),
    "flip_cosine_128": ("seed_cnn", FLIP_COSINE, 128, 30),
    "report_128": ("seed_cnn", {}, 128, 30),
    "report_64": ("seed_cnn", {}, 64, 30),
    "heavy_augmentation": ("seed_cnn", HEAVY, 256, 30),
    "heavy_augmentation_no_dropout": ("seed_cnn", {**HEAVY, **NO_DROPOUT}, 128, 30),
    "heavy_augmentation_64_60_epochs": ("seed_cnn", HEAVY, 64, 60),
    # not the report's CNN: 11M parameters in 18 layers with batch norm, from scratch
    "resnet18_from_scratch_128": (
        "resnet18",
        {**HEAVY, "weights": "none", "lr": 2e-3, "warmup_epochs": 1},
        128,
        60,
    ),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--variants",
        nargs="+",
        choices=list(VARIANTS),
        default=["report", "flip_cosine_128", "report_64", "heavy_augmentation_no_dropout"],
    )
    p.add_argument(
        "--seeds", type=int, default=1, help="train each variant with seeds 0..N-1 (default 1)"
    )
    compute.add_flags(p, threads=2)
    args = p.parse_args()
    chosen = compute.set_up(args)
    # the report's offline rotated copies triple an epoch and "changed little": off in every variant
    report = {**search_spaces.load("cnn_dataset1").baseline, "offline_rotations": False}
    print(
        "| variant | seed | input | epochs | best val loss (epoch) | best val acc (epoch) | last "
        "train acc | s/epoch |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.variants:
        model_name, changes, size, epochs = VARIANTS[name]
        data, config = compute.photos(args.data_root, size), {**report, **changes}
        best_logits = []  # per seed: the validation logits at its best epoch
        for seed in range(args.seeds):
            settings = LoopSettings(
                model=model_name, image_size=size, max_epochs=epochs, seed=seed, precision=chosen
            )
            start, history, best_weights = time.perf_counter(), [], None
            for metrics, state in train_passes(
                config, settings, {"train": data["train"], "val": data["val"]}
            ):
                history.append(metrics)
                # for the ensemble
                if args.seeds > 1 and metrics is min(history, key=lambda m: m["val_loss"]):
                    best_weights = {k: v.clone() for k, v in state["model"].items()}
            seconds = (time.perf_counter() - start) / epochs
            loss = min(history, key=lambda m: m["val_loss"])
            acc = max(history, key=lambda m: m["val_acc"])
            print(
                f"| {name} | {seed} | {size} | {epochs} | {loss['val_loss']:.4f} ({loss['epoch']}) "
                f"| {acc['val_acc']:.3f} ({acc['epoch']}) | {history[-1]['train_acc']:.3f} "
                f"| {seconds:.1f} |",
                flush=True,
            )
            if args.seeds > 1:
                model = chosen.model(build_model(model_name, config, size))
                model.load_state_dict(best_weights)
                best_logits.append(
                    predict_logits(model, data["val"][0], INPUTS[model_name][1], chosen)
                )
        if args.seeds > 1:
            together = scores(average(best_logits), data["val"][1])
            print(
                f"| {name} | ensemble of {args.seeds} | {size} | {epochs} | {together['loss']:.4f} "
                f"| {together['accuracy']:.3f} | | |",
                flush=True,
            )


if __name__ == "__main__":
    main()
