"""What the engine costs as a search grows to many trials. Run by hand, on a quiet machine:

    python benchmarks/many_trials.py --trials 1000

A real search (the real Ray Tune, Optuna and rungs) of the `tiny_digits` space: scikit-learn's
digits at 16x16, 100 scans per split, the report's CNN for at most 3 passes, so that a trial's
own training costs a fraction of a second and what is left is the engine's. The driver runs in
this process, so that its memory can be sampled and the scheduler's and searcher's calls timed.
It prints, for 2 trials at a time:
- wall time per trial once the search is under way (between the 10th and 90th percentile of
  the trials' ends, so Ray's start and the last trials' tail are not in it), the trials' own
  training time per trial, and the difference: the engine's overhead per trial; the same for the
  first and the last 100 trials, to see whether it grows;
- the driver's RSS every 5 s, and as the 100th and the last trial ended (compared);
- each of the collector's full passes while trials ended (ms): they fall in whichever call runs;
- the slowest and mean call of each scheduler, searcher and progress method;
- the sizes of the Optuna study, scheduler_state.json, Ray's experiment state and the whole folder;
- the time of `tune.trials`, `tune.report` and `tune.promote` on the result.
"""

import argparse
import collections
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from data_utils.digits import export
from training import precision
from tune import run as tune_run
from tune import study
from tune.engine.progress import Progress
from tune.engine.rungs import Rungs
from tune.engine.scheduler import SuccessiveHalving
from tune.engine.searcher import StudySearch

TIMED = {
    # the rung system's decisions themselves (no Ray); the scheduler's calls below also hold Ray
    # applying them (a stopped trial goes through Ray's stop_trial and every callback)
    Rungs: ("report", "hopeless_waiting", "promote", "closable", "close", "state"),
    SuccessiveHalving: (
        "on_trial_add",
        "on_trial_result",
        "choose_trial_to_run",
        "on_trial_complete",
    ),
    StudySearch: ("suggest", "on_trial_result", "on_trial_complete"),
    Progress: ("on_step_begin", "on_step_end", "on_trial_result", "on_trial_complete"),
}


def time_calls(calls: dict) -> None:
    """Wrap each method in TIMED so that every call's (wall, CPU) seconds are recorded in `calls`:
    the driver's thread also waits for the GIL (Ray's copy thread) and for a core (the trials)."""
    for cls, names in TIMED.items():
        for name in names:
            original = getattr(cls, name)

            def timed(self, *args, _original=original, _key=f"{cls.__name__}.{name}", **kwargs):
                start, cpu = time.perf_counter(), time.thread_time()
                try:
                    return _original(self, *args, **kwargs)
                finally:
                    calls[_key].append((time.perf_counter() - start, time.thread_time() - cpu))

            setattr(cls, name, timed)


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


class Watch:
    """The driver's RSS (MiB) the moment the 100th and the last trial ended (the 5-s samples
    miss the fit's end by up to 5 s, and then the results are being written), and each of the
    collector's full passes: (ms, trials ended then)."""

    def __init__(self, trials: int):
        self.rss_at, self.full_passes, self.ended, self.trials = {}, [], 0, trials
        self.started = 0.0
        original = Progress.on_trial_complete

        def on_trial_complete(progress, *args, **kwargs):
            original(progress, *args, **kwargs)
            self.ended = len(progress.ended)
            if self.ended in (100, trials):
                self.rss_at.setdefault(self.ended, rss_mib())

        Progress.on_trial_complete = on_trial_complete
        gc.callbacks.append(self.on_collection)

    def on_collection(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        elif info["generation"] == 2:
            self.full_passes.append((1000 * (time.perf_counter() - self.started), self.ended))

    def report(self) -> None:
        if len(self.rss_at) == 2:
            (first, at_first), (last, at_last) = sorted(self.rss_at.items())
            print(
                f"as the {first}th trial ended: {at_first:.0f}; as the last ({last}th) ended: "
                f"{at_last:.0f}, +{at_last - at_first:.0f} MiB"
            )
        during = [(ms, n) for ms, n in self.full_passes if 0 < n < self.trials]
        print(
            f"the collector's full passes while trials ended: {len(during)}, ms: "
            + ", ".join(f"{ms:.0f} (at {n})" for ms, n in during)
        )


def sample_memory(ray_dir: Path, samples: list, stop: threading.Event, every: float) -> None:
    """(seconds since the start, driver RSS in MiB, trials that have reported) every `every` s."""
    start = time.time()
    while not stop.wait(every):
        started = sum(1 for _ in ray_dir.glob("*/result.json"))
        samples.append((time.time() - start, rss_mib(), started))


def trial_times(ray_dir: Path) -> list[tuple[float, float]]:
    """(end timestamp, own training seconds) of each trial, by end."""
    rows = []
    for path in ray_dir.glob("*/result.json"):
        lines = path.read_text().splitlines()
        if not lines:
            continue  # started, never reported (an interrupted search)
        last = json.loads(lines[-1])
        rows.append((last["timestamp"], last["time_total_s"]))
    return sorted(rows)


def per_trial(rows: list, at_once: int) -> tuple[float, float, float]:
    """(wall s per trial, own training s per trial, overhead s per trial) over these trials."""
    wall = (rows[-1][0] - rows[0][0]) / max(1, len(rows) - 1)
    own = sum(seconds for _, seconds in rows) / len(rows)
    return wall, own, wall - own / at_once


def command_seconds(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def report(exp_dir: Path, samples: list, calls: dict, watch: Watch) -> None:
    rows = trial_times(exp_dir / "ray")
    lo, hi = len(rows) // 10, len(rows) * 9 // 10
    fit = json.loads((exp_dir / "experiment.json").read_text())["wall_time_s"]
    print(f"\n{len(rows)} trials, fit {fit:.0f} s")
    print(
        "| trials | wall s/trial | own training s/trial | engine overhead s/trial (2 at a time) |"
    )
    print("|---|---|---|---|")
    for label, part in (
        ("10th-90th percentile", rows[lo:hi]),
        ("first 100", rows[:100]),
        ("last 100", rows[-100:]),
    ):
        wall, own, overhead = per_trial(part, 2)
        print(f"| {label} | {wall:.2f} | {own:.2f} | {overhead:.2f} |")
    print(
        "\nDriver RSS (MiB): " + ", ".join(f"{t:.0f}s {m:.0f} ({n} trials)" for t, m, n in samples)
    )
    print(f"after the results were written: {samples[-1][1]:.0f}")
    watch.report()
    print(
        "\n| call | calls | mean ms | slowest ms (at call #) | slowest in CPU time ms |"
        "\n|---|---|---|---|---|"
    )
    for key, took in sorted(calls.items()):
        wall, cpu = [w for w, _ in took], [c for _, c in took]
        slowest = max(range(len(wall)), key=wall.__getitem__)
        mean = 1000 * sum(wall) / len(wall)
        print(
            f"| {key} | {len(took)} | {mean:.2f} | {1000 * wall[slowest]:.1f} (#{slowest}) "
            f"| {1000 * max(cpu):.1f} |"
        )
    states = sorted((exp_dir / "ray").glob("experiment_state-*.json"))
    print("\n| file | MiB |\n|---|---|")
    for name, size in (
        ("the Optuna study", study.study_file(exp_dir).stat().st_size / 2**20),
        ("scheduler_state.json", (exp_dir / "scheduler_state.json").stat().st_size / 2**20),
        ("Ray's experiment state", states[-1].stat().st_size / 2**20 if states else 0),
        ("the experiment folder", folder_mib(exp_dir)),
    ):
        print(f"| {name} | {size:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--keep", help="keep the experiment in this folder (default: a temp one)")
    args = parser.parse_args()
    print(f"CPU: {precision.cpu_capabilities()}", flush=True)
    root = Path(args.keep or tempfile.mkdtemp(prefix="many_trials_"))
    export(root / "digits", 30)
    results, name = root / "results", "many"
    calls, samples, stop = collections.defaultdict(list), [], threading.Event()
    time_calls(calls)
    watch = Watch(args.trials)
    sampler = threading.Thread(
        target=sample_memory, args=(results / name / "ray", samples, stop, 5.0), daemon=True
    )
    sampler.start()
    code = tune_run.main(
        [
            *("--space", "tiny_digits", "--data-root", str(root), "--name", name),
            *("--num-samples", str(args.trials), "--max-concurrent", "2"),
            *("--results-dir", str(results)),
        ]
    )
    stop.set()
    samples.append((samples[-1][0] if samples else 0, rss_mib(), args.trials))
    print(f"tune.run exited {code}")
    report(results / name, samples, calls, watch)
    print("\n| command (on the result) | s |\n|---|---|")
    for command in ("tune.trials", "tune.report", "tune.promote"):
        print(
            f"| {command} | {command_seconds(command, name, '--results-dir', str(results)):.1f} |",
            flush=True,
        )
    print(f"\nexperiment in {root}" if args.keep else "")


if __name__ == "__main__":
    main()
