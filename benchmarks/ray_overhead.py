"""What does Ray Tune add per trial, on top of the trial's own training? Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/ray_overhead.py

Runs two real searches of the tiny `smoke` space, one trial at a time, 1 epoch each: a short
one and a long one. Fixed costs (starting Ray, preparing the data, writing results) are the same
in both, so the extra wall time of the long search beyond its extra training time, divided by
its extra trials, is what each trial costs Ray: scheduling, the searcher, reporting, checkpoints.
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


def search(results: Path, name: str, trials: int) -> tuple[float, float, float]:
    """(wall time of the command, of Tuner.fit, summed time of its trials' own training) in s."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tune.run",
            "--space",
            "smoke",
            "--name",
            name,
            "--num-samples",
            str(trials),
            "--max-passes",
            "1",
            "--max-concurrent",
            "1",
            "--results-dir",
            str(results),
        ],
        check=True,
        capture_output=True,
    )
    command = time.perf_counter() - start
    trial_time = pd.read_csv(results / name / "trials.csv")["wall_time_s"].sum()
    return command, settings(results / name).wall_time_s, trial_time


def main() -> None:
    print(
        f"CPU: {precision.cpu_capabilities()}; trials ran with --precision "
        f"auto: {precision.choose().describe()}",
        flush=True,
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=2, help="trials in the short search")
    parser.add_argument("--long", type=int, default=12, help="trials in the long search")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        short_command, short_wall, short_train = search(Path(tmp), "short", args.short)
        long_command, long_wall, long_train = search(Path(tmp), "long", args.long)
    extra = args.long - args.short
    per_trial = ((long_wall - short_wall) - (long_train - short_train)) / extra
    for n, command, wall, train in (
        (args.short, short_command, short_wall, short_train),
        (args.long, long_command, long_wall, long_train),
    ):
        print(
            f"{n} trials: command {command:.1f} s, of which Tuner.fit {wall:.1f} s, "
            f"of which the trials' own training {train:.1f} s"
        )
    print(f"Ray's cost per trial (reuse_actors=True): {per_trial:.2f} s")


if __name__ == "__main__":
    main()
