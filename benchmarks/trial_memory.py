"""How much memory does one fine-tuned trial hold, and does handing freed memory back help? \
Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/trial_memory.py \
        --model efficientnet_lite2 --batch-size 64

It trains the same fine-tuned trial (ImageNet weights, every layer, the recipe's augmentations) on
the real photos (data set 1's experiment split, seed 0) for --epochs epochs, twice, each in its own
process so that each peak is its own: (a) as glibc leaves it, (b) calling malloc_trim(0) after each
epoch, as tune/engine/trainable.py does. After every epoch it prints the resident memory, the peak
so far, and the seconds the epoch took; first, the CPU's capabilities and the precision it
computes in.
"""

import argparse
import resource
import subprocess
import sys
import time

import torch

from benchmarks import compute
from models import INPUTS, imagenet_state
from training import precision
from training.loop import LoopSettings, train_passes
from tune.engine.trainable import malloc_trim  # what every trial calls after each epoch


def resident_gb() -> float:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**30


def one_run(args, trim: bool) -> None:
    torch.set_num_threads(args.threads)
    size = INPUTS[args.model][0]
    data = compute.photos(args.data_root, size)
    data = {"train": data["train"], "val": data["val"], "imagenet": imagenet_state(args.model)}
    config = {
        "lr": 1e-3,
        "dropout": 0.2,
        "rotation": 10.0,
        "batch_size": args.batch_size,
        "weights": "imagenet",
        "freeze_backbone": False,
        "crop_scale": 0.6,
        "hflip": True,
        "color_jitter": 0.2,
    }
    settings = LoopSettings(
        model=args.model,
        image_size=size,
        max_epochs=args.epochs,
        seed=0,
        precision=precision.choose(args.precision),
    )
    label = "(b) malloc_trim after each epoch" if trim else "(a) as glibc leaves it"
    last = time.perf_counter()
    for metrics, _ in train_passes(config, settings, data):
        if trim:
            malloc_trim(0)
        now, peak = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(
            f"{label}: epoch {metrics['epoch']}: resident {resident_gb():.2f} GB, peak {peak:.2f} "
            f"GB, epoch {now - last:.0f} s (validation included)",
            flush=True,
        )
        last = now


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model", default="efficientnet_lite2", choices=[m for m in INPUTS if m != "seed_cnn"]
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (a trial's: --cpus-per-trial, default 1)",
    )
    p.add_argument("--precision", choices=precision.CHOICES, default="auto")
    p.add_argument("--data-root")
    p.add_argument("--one", choices=["plain", "trim"], help=argparse.SUPPRESS)  # the child process
    args = p.parse_args()
    if args.one:
        return one_run(args, args.one == "trim")
    chosen = precision.choose(args.precision)
    print(f"CPU: {precision.cpu_capabilities()}", flush=True)
    print(
        f"{args.model} at {INPUTS[args.model][0]}x{INPUTS[args.model][0]}, "
        f"batch {args.batch_size}, {args.threads} thread(s), {chosen.describe()} "
        f"(--precision {args.precision}), torch {torch.__version__}",
        flush=True,
    )
    for mode in ("plain", "trim"):
        subprocess.run([sys.executable, *sys.argv, "--one", mode], check=True)


if __name__ == "__main__":
    main()
