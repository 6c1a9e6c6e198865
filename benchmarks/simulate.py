"""The rung system simulated, no Ray, no training: how long a search would take, how busy its
workers would be and what it would find, under this project's successive halving and two others,
for any number of workers and trials, in seconds of real time.

    python benchmarks/simulate.py [--curves FILE.csv ...] [--workers 2 8 64 256]
                                  [--trials 20 200 2000] [--seed 0]
    python benchmarks/simulate.py --extract RAY_FOLDER OUT.csv [--space NAME]

Why: a real search of 2,000 trials on 256 workers cannot be run here, and how the rungs behave
there (trials waiting at a rung that has too few results to judge them, rungs that close only
once every trial was suggested) is a question about the decisions, not the training. So, as
syne-tune's simulator back-end does, trials are not trained: an event queue on a simulated clock
plays their learning curves back from a table recorded in a real search.

- Curves: `benchmarks/curves/pretrained_dataset1.csv`, extracted (`--extract`) from the
  `result.json` of the 30 trials of a real `pretrained_dataset1` search (2026-12-04, 2-core AMD
  EPYC; its Ray folder was /tmp/ray/session_2026-12-04_06-53-37_509132_10080/artifacts/
  2026-12-04_06-53-48/ray/driver_artifacts, not kept): per trial and pass its validation loss,
  the seconds that pass took (Ray's `time_this_iter_s` less `cache_s`, the one-time feature cache
  the first trial of a backbone built) and the training images it saw. The baseline is the
  trial flagged so in its config, or one with the values of `--space`'s baseline (that search
  was from before the flag); with several files, the first file's baseline is trial 0.
- Trials: trial 0 is the baseline, on its recorded curve (its full schedule, never paused or
  stopped); each other trial draws one of the other recorded curves, with replacement (seeded).
  The searcher is therefore random search over the configs that search tried.
- Short curves: the real scheduler stopped most trials early (at 2 or 6 passes of 10). A trial
  let go on past its recorded curve keeps its last validation loss and trains each further pass
  in its recorded mean seconds per pass, on its last pass's images: a documented approximation
  (a stopped trial neither improves nor gets worse).
- Budget: max_t is the baseline's curve length, the grace period the shortest curve's (no trial
  is stopped before its first rung): 10 and 2 passes for the committed curves (the space's own).
- Costs not simulated: Ray's start, pause and resume of a trial, checkpoints, CPUs handed to a
  trial when others are idle (`CpuRebalancer`): each trial holds one worker while it trains.

Three schedulers on the same draws, each on `workers` workers:
- `ours`: tune/engine/rungs.py's `Rungs` (imported), driven as tune/engine/scheduler.py's
  `SuccessiveHalving` drives it: every pass reported; when a worker is free, close what rungs can
  be closed (only once every trial has been started), else promote a waiting trial, else start
  the next new one, else resume one that went on from a closed rung, else leave it idle.
- `async ASHA`: Ray's ASHAScheduler on the same rungs: a trial reaching a rung stops if its loss
  is worse than the cutoff of the results recorded there before it (Ray's (1 - 1/3) quantile of
  rewards, the 1/3 quantile of losses; an empty rung lets it through), then its own is recorded;
  nothing waits.
- `sync SH`: classic successive halving: every trial trains to the first rung, and only when all
  have (a barrier: idle workers wait) the rung's best max(1, n // 3) go on to the next, and so on.
  The baseline trains straight through; its result, where it has one, is ranked as in `ours`.

Results: benchmarks/README.md, "The rung system simulated".
"""

import argparse
import csv
import heapq
import json
import random
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

import numpy as np

from tune.engine.rungs import CONTINUE, PAUSE, REDUCTION_FACTOR, STOP, Rungs, milestones

CURVES = Path(__file__).parent / "curves" / "pretrained_dataset1.csv"
FIELDS = ("trial", "baseline", "passes", "val_loss", "seconds", "train_images")


# -- learning curves, recorded ------------------------------------------------------------------
def baseline_values(folder: Path, space: str | None) -> dict | None:
    """The baseline's config values, for trials from before the baseline flag: `--space`'s, or
    the experiment's (a `results/EXP/ray/` folder has `results/EXP/experiment.json`)."""
    if space:
        import search_spaces  # imports torch: only here

        return search_spaces.load(space).baseline
    experiment = folder.parent / "experiment.json"
    return json.loads(experiment.read_text())["baseline"] if experiment.is_file() else None


def curve_rows(path: Path, baseline: dict | None) -> list[dict]:
    """One trial's result.json as rows of FIELDS, one per pass (the last result of a pass
    reported twice, after a resume)."""
    from tune import is_baseline, passes_of

    lines = path.read_text().splitlines()
    by_pass = {passes_of(r): r for r in map(json.loads, filter(str.strip, lines))}
    rows, seen = [], 0
    for passes, result in sorted(by_pass.items()):
        images = int(result.get("train_images", 0))
        rows.append(
            {
                "trial": result["trial_id"],
                "baseline": int(is_baseline(result["config"], baseline)),
                "passes": passes,
                "val_loss": f"{result['val_loss']:.5f}",
                "seconds": f"{result['time_this_iter_s'] - result.get('cache_s', 0.0):.3f}",
                "train_images": images - seen,
            }
        )
        seen = images
    return rows


def extract(folder: Path, out: Path, space: str | None = None) -> int:
    """Every trial under a Ray folder (trial folders with a result.json) to one CSV; the number
    of trials written."""
    baseline = baseline_values(folder, space)
    trials = [curve_rows(p, baseline) for p in sorted(folder.rglob("result.json"))]
    trials = [t for t in trials if t]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        for rows in sorted(trials, key=lambda t: (-t[0]["baseline"], t[0]["trial"])):
            writer.writerows(rows)
    return len(trials)


@dataclass(frozen=True)
class Curve:
    """A recorded trial: per pass (1, 2, ...) its loss, seconds and images."""

    name: str
    baseline: bool
    losses: tuple[float, ...]
    seconds: tuple[float, ...]
    images: tuple[int, ...]

    def at(self, passes: int) -> tuple[float, float, int]:
        """Loss, seconds and images of pass `passes`; past the recorded curve, the last loss and
        images and the mean seconds per pass (the short-curve rule)."""
        if passes <= len(self.losses):
            i = passes - 1
            return self.losses[i], self.seconds[i], self.images[i]
        return self.losses[-1], mean(self.seconds), self.images[-1]


def load(paths: list[Path]) -> list[Curve]:
    """The curves of one or more CSV files of `extract`'s, named FILE/TRIAL."""
    rows: dict[str, list[dict]] = {}
    for path in paths:
        with path.open() as f:
            for row in csv.DictReader(f):
                rows.setdefault(f"{path.stem}/{row['trial']}", []).append(row)
    curves = []
    for name, trial in rows.items():
        trial.sort(key=lambda r: int(r["passes"]))
        curves.append(
            Curve(
                name,
                trial[0]["baseline"] == "1",
                tuple(float(r["val_loss"]) for r in trial),
                tuple(float(r["seconds"]) for r in trial),
                tuple(int(r["train_images"]) for r in trial),
            )
        )
    return curves


def budget(curves: list[Curve]) -> tuple[int, int]:
    """(grace period, max_t): the shortest curve's length, the baseline's."""
    baseline = next(c for c in curves if c.baseline)
    return min(len(c.losses) for c in curves), len(baseline.losses)


def draw(curves: list[Curve], n: int, seed: int) -> list[Curve]:
    """Trial 0 the baseline, the other n - 1 drawn with replacement from the other curves."""
    rng = random.Random(seed)
    others = [c for c in curves if not c.baseline]
    baseline = next(c for c in curves if c.baseline)  # the first file's, with several
    return [baseline] + [rng.choice(others) for _ in range(n - 1)]


# -- the schedulers ------------------------------------------------------------------------------
class Ours:
    """tune/engine/rungs.py, driven as tune/engine/scheduler.py's SuccessiveHalving drives it."""

    def __init__(self, n: int, grace: int, max_t: int):
        self.rungs = Rungs.create(grace, REDUCTION_FACTOR, max_t)
        self.rungs.total = n  # the adapter's `run.num_samples`: the hopeless stop at once
        self.new, self.resumable = deque(range(n)), deque()
        self.stopped: list[int] = []  # stopped while waiting (hopeless, or a rung closed)

    def choose(self) -> int | None:
        for trial in self.rungs.hopeless_waiting():  # `_stop_hopeless`
            self.rungs.end(trial)
            self.stopped.append(trial)
        if not self.new:  # `_close_rungs`: only once every trial has been suggested
            self.close_rungs()
        promoted = self.rungs.promote()
        if promoted is not None:
            return promoted
        if self.new:
            trial = self.new.popleft()
            self.rungs.add(trial, baseline=trial == 0)
            return trial
        return self.resumable.popleft() if self.resumable else None

    def close_rungs(self) -> None:
        live = self.rungs.seen - self.rungs.ended
        while (milestone := self.rungs.closable(live)) is not None:
            went_on, stopped = self.rungs.close(milestone)
            self.resumable += went_on
            self.stopped += stopped
            if went_on:  # they must reach the next rung before it can close
                return
            live -= set(stopped)

    def report(self, trial: int, passes: int, loss: float) -> str:
        return self.rungs.report(trial, passes, loss)

    def end(self, trial: int) -> None:
        self.rungs.end(trial)


class AsyncASHA:
    """Ray's ASHAScheduler (min mode) on the same rungs; the baseline recorded, never stopped."""

    def __init__(self, n: int, grace: int, max_t: int):
        self.max_t, self.new = max_t, deque(range(n))
        self.recorded = {m: [] for m in milestones(grace, REDUCTION_FACTOR, max_t)}
        self.stopped: list[int] = []  # never: nothing waits

    def choose(self) -> int | None:
        return self.new.popleft() if self.new else None

    def report(self, trial: int, passes: int, loss: float) -> str:
        if passes >= self.max_t:
            return STOP
        before = self.recorded.get(passes)
        if before is None:
            return CONTINUE
        # Ray: stop if -loss < the (1 - 1/3) percentile of -losses, i.e. loss > the 1/3 one
        worse = bool(before) and loss > np.percentile(before, 100 / REDUCTION_FACTOR)
        before.append(loss)
        return STOP if worse and trial != 0 else CONTINUE

    def end(self, trial: int) -> None:
        pass


class SyncSH:
    """Successive halving rung by rung: a round's trials train to its rung and wait there until
    all have; then the rung's best max(1, n // 3) (the baseline's result counted, as in ours) go
    on. The baseline trains straight through."""

    def __init__(self, n: int, grace: int, max_t: int):
        self.max_t, self.queue = max_t, deque(range(n))
        self.targets = milestones(grace, REDUCTION_FACTOR, max_t) + [max_t]
        self.results: dict[int, dict[int, float]] = {m: {} for m in self.targets}
        self.members, self.arrived = set(range(1, n)), set()
        self.stopped: list[int] = []

    def choose(self) -> int | None:
        return self.queue.popleft() if self.queue else None

    def report(self, trial: int, passes: int, loss: float) -> str:
        if passes in self.results:
            self.results[passes][trial] = loss
        if passes >= self.max_t:
            return STOP
        if trial == 0 or passes < self.targets[0]:
            return CONTINUE
        self.arrived.add(trial)
        if self.arrived == self.members:
            self.next_round()
        return PAUSE

    def next_round(self) -> None:
        values = self.results[self.targets.pop(0)]
        best = sorted(values, key=values.get)[: max(1, len(values) // REDUCTION_FACTOR)]
        went_on = [t for t in best if t in self.members]
        self.stopped += [t for t in sorted(self.members) if t not in went_on]
        self.members, self.arrived = set(went_on), set()
        self.queue += went_on

    def end(self, trial: int) -> None:
        pass


SCHEDULERS = {"ours": Ours, "async ASHA": AsyncASHA, "sync SH": SyncSH}


# -- the simulator -------------------------------------------------------------------------------
@dataclass
class Trial:
    curve: Curve
    passes: int = 0
    starts: int = 0
    paused_since: float | None = None
    busy: float = 0.0  # seconds trained
    waited: float = 0.0  # seconds paused at a rung
    end: str = ""  # "max_t", "stopped", or "waiting" (never judged: a bug)
    ended_at: float = 0.0


class Simulation:
    """`workers` workers on a simulated clock; an event is a trial's pass ending. A trial holds
    a worker from its start or resume until it pauses or ends."""

    def __init__(self, scheduler: str, curves: list[Curve], workers: int, grace: int, max_t: int):
        self.policy = SCHEDULERS[scheduler](len(curves), grace, max_t)
        self.trials = [Trial(c) for c in curves]
        self.workers, self.max_t = workers, max_t
        self.clock = self.busy = 0.0
        self.images, self.best = 0, float("inf")
        self.events: list[tuple[float, int]] = []  # (when its pass ends, trial)
        self.running: set[int] = set()
        self.paused = self.most_paused = 0  # trials paused at a rung now, and at most at once
        self.log: list[tuple[float, int, str, int]] = []  # (clock, trial, what, passes)

    def run(self, give_up_s: float = float("inf")) -> "Simulation":
        deadline = time.perf_counter() + give_up_s
        self.fill()
        while self.events:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"more than {give_up_s:.0f} s of real time")
            self.clock, trial = heapq.heappop(self.events)
            self.finish_pass(trial)
            self.fill()
        for trial in self.trials:
            if trial.paused_since is not None:
                self.ended(trial, "waiting")
        return self

    def fill(self) -> None:
        """Free workers to what the scheduler chooses, until it chooses nothing."""
        while len(self.running) < self.workers:
            chosen = self.policy.choose()
            self.take_stopped()
            if chosen is None:
                return
            self.start(chosen)
        self.take_stopped()

    def take_stopped(self) -> None:
        while self.policy.stopped:
            self.ended(self.trials[self.policy.stopped.pop(0)], "stopped")

    def start(self, index: int) -> None:
        trial = self.trials[index]
        if index in self.running or trial.end:
            raise RuntimeError(f"trial {index} chosen to run, but it is running or has ended")
        trial.starts += trial.passes == 0
        if trial.paused_since is not None:
            trial.waited += self.clock - trial.paused_since
            trial.paused_since = None
            self.paused -= 1
        self.running.add(index)
        self.next_pass(index)

    def next_pass(self, index: int) -> None:
        trial = self.trials[index]
        seconds = trial.curve.at(trial.passes + 1)[1]
        self.busy += seconds
        trial.busy += seconds
        self.log.append((self.clock, index, "start", trial.passes + 1))
        heapq.heappush(self.events, (self.clock + seconds, index))

    def finish_pass(self, index: int) -> None:
        trial = self.trials[index]
        trial.passes += 1
        loss, _, images = trial.curve.at(trial.passes)
        self.images, self.best = self.images + images, min(self.best, loss)
        action = self.policy.report(index, trial.passes, loss)
        self.log.append((self.clock, index, action, trial.passes))
        if action == CONTINUE and trial.passes < self.max_t:
            self.next_pass(index)
            return
        self.running.discard(index)
        if action == PAUSE and trial.passes < self.max_t:
            trial.paused_since = self.clock
            self.paused += 1
            self.most_paused = max(self.most_paused, self.paused)
        else:
            self.ended(trial, "max_t" if trial.passes >= self.max_t else "stopped")
            self.policy.end(index)

    def ended(self, trial: Trial, how: str) -> None:
        if trial.paused_since is not None:
            trial.waited += self.clock - trial.paused_since
            trial.paused_since = None
            self.paused -= 1
        trial.end, trial.ended_at = how, self.clock

    def summary(self) -> dict:
        """The table's figures; `util others` is the utilization until every trial but the
        baseline (started first, never paused) has ended."""
        others = max((t.ended_at for t in self.trials[1:]), default=0.0)
        busy_then = self.busy - self.trials[0].busy + min(others, self.trials[0].busy)
        return {
            "wall": self.clock,
            "others": others,
            "util": self.busy / (self.workers * self.clock) if self.clock else 0.0,
            "util others": busy_then / (self.workers * others) if others else 0.0,
            "images": self.images,
            "best": self.best,
            "best at max_t": min(
                (t.curve.at(self.max_t)[0] for t in self.trials if t.passes >= self.max_t),
                default=float("nan"),
            ),
            "waited": sum(t.waited for t in self.trials),
            "most paused": self.most_paused,
            "left waiting": sum(t.end == "waiting" for t in self.trials),
            "full": sum(t.passes >= self.max_t for t in self.trials),
        }


# -- the table -----------------------------------------------------------------------------------
def clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


HEADER = (
    "| W | N | scheduler | wall | util | others done | util then | images | best loss "
    "| best at max_t | waited | most paused | left waiting | at max_t | sim s |\n"
    + "|---" * 15
    + "|"
)
LEGEND = """W workers, N trials. wall: simulated h:mm:ss until the last trial ended (the baseline,
~88 s a pass, 10 passes, for most rows); util: busy worker-seconds / (W x wall); others done,
util then: the same until every trial but the baseline had ended; images: training images of
all passes trained; best loss: the lowest validation loss of any result; best at max_t: of the
trials that trained max_t passes, the lowest final loss; waited: trial-h:mm:ss spent paused at a
rung (at sync SH's barrier); most paused: trials paused at once (each keeps its checkpoint on
disk: ~200 MB for the report's CNN); left waiting: trials that ended paused, never judged (a
bug if not 0); at max_t: trials that trained max_t passes (the baseline included); sim s: real
seconds the simulation took (the schedulers' decisions in Python)."""


def row(scheduler: str, trials: list[Curve], workers: int, budget_: tuple, give_up_s: float):
    grace, max_t = budget_
    start = time.perf_counter()
    try:
        s = Simulation(scheduler, trials, workers, grace, max_t).run(give_up_s).summary()
    except TimeoutError as gave_up:
        return f"| {workers} | {len(trials)} | {scheduler} | gave up: {gave_up} |"
    return (
        f"| {workers} | {len(trials)} | {scheduler} | {clock(s['wall'])} | {s['util']:.2f} "
        f"| {clock(s['others'])} | {s['util others']:.2f} | {s['images']:,} | {s['best']:.3f} "
        f"| {s['best at max_t']:.3f} | {clock(s['waited'])} | {s['most paused']} "
        f"| {s['left waiting']} | {s['full']} "
        f"| {time.perf_counter() - start:.1f} |"
    )


def table(curves: list[Curve], args) -> None:
    grace, max_t = args.grace or budget(curves)[0], args.max_t or budget(curves)[1]
    rungs = milestones(grace, REDUCTION_FACTOR, max_t)
    print(f"{len(curves)} recorded curves; grace {grace}, max_t {max_t}, rungs at {rungs} passes")
    print(HEADER)
    for workers in args.workers:
        for n in args.trials:
            trials = draw(curves, n, args.seed)  # the same draws for every W and scheduler
            for scheduler in SCHEDULERS:
                print(row(scheduler, trials, workers, (grace, max_t), args.give_up), flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extract", nargs=2, type=Path, metavar=("RAY_FOLDER", "OUT_CSV"))
    parser.add_argument("--space", help="with --extract: the space whose baseline it ran")
    parser.add_argument("--curves", nargs="+", type=Path, default=[CURVES])
    parser.add_argument("--workers", nargs="+", type=int, default=[2, 8, 64, 256])
    parser.add_argument("--trials", nargs="+", type=int, default=[20, 200, 2000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grace", type=int, help="default: the shortest curve's length")
    parser.add_argument("--max-t", type=int, help="default: the baseline curve's length")
    parser.add_argument("--give-up", type=float, default=60, help="real seconds per row")
    args = parser.parse_args(argv)
    if args.extract:
        written = extract(*args.extract, space=args.space)
        print(f"{written} trials to {args.extract[1]}", file=sys.stderr)
        return
    start = time.perf_counter()
    table(load(args.curves), args)
    print(f"\n{LEGEND}\n(the table took {time.perf_counter() - start:.1f} s of real time)")


if __name__ == "__main__":
    main()
