"""Where one epoch of a trial goes: training, validation, and writing its checkpoint. Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/epoch_breakdown.py [--offline-rotations]

One trial of the report's CNN (the seed report's config) on data set 1's experiment split, in
the precision `--precision` (default auto) picks on this CPU, with 1 torch thread (a trial's
default): seconds of the training pass, of the validation pass and of `torch.save` of the
checkpoint Ray gets every epoch (model + Adam state), and the checkpoint's size.
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import compute
from training import loop

CONFIG = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout_placement": "both",
    "dropout_before_fc1": 0.6,
    "dropout_after_fc1": 0.4,
    "rotation": 10.0,
    "batch_size": 32,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--offline-rotations", action="store_true", help="the report's 3x training set")
    p.add_argument("--epochs", type=int, default=2)
    compute.add_flags(p, threads=1)
    args = p.parse_args()
    chosen = compute.set_up(args)
    data = compute.photos(args.data_root, 256)
    splits = {"train": data["train"], "val": data["val"]}
    config = {**CONFIG, "offline_rotations": args.offline_rotations}
    settings = loop.LoopSettings(
        model="seed_cnn", image_size=256, max_epochs=args.epochs, seed=0, precision=chosen
    )

    validate = loop.evaluate
    timings = {"validate": 0.0}

    def timed_evaluate(*a, **k):  # the loop's validation pass, timed on its own
        start = time.perf_counter()
        out = validate(*a, **k)
        timings["validate"] += time.perf_counter() - start
        return out

    loop.evaluate = timed_evaluate
    start = time.perf_counter()
    for metrics, state in loop.train_passes(config, settings, splits):
        epoch_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as folder:
            saved = time.perf_counter()
            torch.save(state, Path(folder) / loop.CHECKPOINT_FILE)
            save_s = time.perf_counter() - saved
            size = (Path(folder) / loop.CHECKPOINT_FILE).stat().st_size
        train_s = epoch_s - timings["validate"]
        print(
            f"epoch {metrics['epoch']}: train {train_s:.1f} s, validate {timings['validate']:.1f} "
            f"s, checkpoint {save_s:.2f} s ({size / 1e6:.0f} MB): of the epoch, validation "
            f"{100 * timings['validate'] / (epoch_s + save_s):.0f}%, "
            f"checkpoint {100 * save_s / (epoch_s + save_s):.1f}%",
            flush=True,
        )
        timings["validate"] = 0.0
        start = time.perf_counter()


if __name__ == "__main__":
    main()
