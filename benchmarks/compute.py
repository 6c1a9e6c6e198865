"""What the benchmarks share: the flags that say how they compute, the line that says on which
CPU (a figure from one CPU is never true for all), and the photos they compute on."""

import argparse
import functools

import torch

from data_utils.layout import resolve_data_root
from data_utils.prepare import prepare
from training import precision


def add_flags(p: argparse.ArgumentParser, threads: int) -> None:
    p.add_argument(
        "--threads", type=int, default=threads, help=f"torch threads (default {threads})"
    )
    p.add_argument("--precision", choices=precision.CHOICES, default="auto")
    p.add_argument("--data-root")


def set_up(args) -> precision.Precision:
    """Sets the threads, picks the precision and prints both beside the CPU's capabilities."""
    torch.set_num_threads(args.threads)
    chosen = precision.choose(args.precision)
    print(
        f"CPU: {precision.cpu_capabilities()}; {chosen.describe()} (--precision {args.precision}), "
        f"{args.threads} thread(s), torch {torch.__version__}",
        flush=True,
    )
    return chosen


@functools.cache
def prepared(data_root: str | None, size: int, per_class: int | None = None):
    """Data set 1's experiment split (seed 0) at `size` pixels, as a search prepares it (the
    manifest, the decoded tensors): decoded once per size, however many variants use it."""
    return prepare(
        resolve_data_root(data_root), "smoker_detection", size, seed=0, subset_per_class=per_class
    )


def photos(data_root: str | None, size: int) -> dict:
    """The decoded splits of `prepared`: {split: (uint8 images, labels)}."""
    return prepared(data_root, size).tensors
