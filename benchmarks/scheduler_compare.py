"""The same reduced search under Ray's per-epoch async ASHA (the scheduler before) and under this
project's successive halving on equal training images (tune/engine/scheduler.py). Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/scheduler_compare.py

For each seed, one real search per scheduler (`tune.run`; `benchmarks.old_asha` for ASHA), one
after the other (never at once: they would share the 2 cores): `--space cnn_dataset1
--num-samples 10 --max-passes 4` by default (4 epochs under ASHA, whose budget is epochs).
Prints per search the wall time, the training images all its trials saw, how many trials trained
their full schedule, and the best validation loss it found; then the ratios. A second seed
(--seeds 0 1) shows how much of a difference in the best loss is noise.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from training import precision
from tune.experiment import settings

SCHEDULERS = ("asha", "halving")


def search(results: Path, scheduler: str, seed: int, args) -> dict:
    name = f"{scheduler}_{seed}"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.old_asha" if scheduler == "asha" else "tune.run",
            "--space",
            args.space,
            "--name",
            name,
            "--num-samples",
            str(args.num_samples),
            "--max-passes",
            str(args.max_passes),
            "--seed",
            str(seed),
            "--results-dir",
            str(results),
        ],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    table = pd.read_csv(results / name / "trials.csv")
    exp = settings(results / name)
    # the full schedule: `budget` epochs of its own data (the baseline's, and every trial's under
    # ASHA) or, for a searched trial under halving, `budget` passes of the training split
    full = table["epochs"] >= exp.budget
    if scheduler == "halving":
        full |= ~table["baseline"] & (table["passes"] >= exp.budget)
    return {
        "scheduler": scheduler,
        "seed": seed,
        "wall_min": wall / 60,
        "search_min": exp.wall_time_s / 60,
        "train_images": int(table["train_images"].sum()),
        "full_schedule": int(full.sum()),
        "trials": len(table),
        "best_val_loss": table["best_val_loss"].min(),
        "best_trial": int(table.loc[table["best_val_loss"].idxmin(), "trial"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="cnn_dataset1")
    parser.add_argument("--num-samples", type=int, default=10)
    parser.add_argument("--max-passes", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    print(
        f"CPU: {precision.cpu_capabilities()}; trials ran with --precision auto: "
        f"{precision.choose().describe()}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for scheduler in SCHEDULERS:
                rows.append(search(Path(tmp), scheduler, seed, args))
                print(
                    " | ".join(
                        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in rows[-1].items()
                    ),
                    flush=True,
                )
    table = pd.DataFrame(rows)
    print()
    print(table.to_markdown(index=False, floatfmt=".4f"))
    by = table.pivot(index="seed", columns="scheduler")
    print()
    for seed in by.index:
        old, new = by.loc[seed, ("train_images", "asha")], by.loc[seed, ("train_images", "halving")]
        gap = by.loc[seed, ("best_val_loss", "halving")] - by.loc[seed, ("best_val_loss", "asha")]
        print(
            f"seed {seed}: halving spent {new / old:.2f}x the images of ASHA, "
            f"{by.loc[seed, ('wall_min', 'halving')] / by.loc[seed, ('wall_min', 'asha')]:.2f}x "
            f"the wall time; best val loss {by.loc[seed, ('best_val_loss', 'halving')]:.4f} vs "
            f"{by.loc[seed, ('best_val_loss', 'asha')]:.4f} (halving - ASHA: "
            f"{gap:+.4f})"
        )


if __name__ == "__main__":
    main()
