"""What the benchmarks share: the flags that say how they compute, and the line that says on
which CPU (a figure from one CPU is never true for all)."""
import argparse

import torch

from training import precision


def add_flags(p: argparse.ArgumentParser, threads: int) -> None:
    p.add_argument("--threads", type=int, default=threads, help=f"torch threads (default {threads})")
    p.add_argument("--precision", choices=precision.CHOICES, default="auto")
    p.add_argument("--data-root")


def set_up(args) -> precision.Precision:
    """Sets the threads, picks the precision and prints both beside the CPU's capabilities."""
    torch.set_num_threads(args.threads)
    chosen = precision.choose(args.precision)
    print(f"CPU: {precision.cpu_capabilities()}; {chosen.describe()} (--precision {args.precision}), "
          f"{args.threads} thread(s), torch {torch.__version__}", flush=True)
    return chosen
