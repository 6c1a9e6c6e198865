"""What a person sees while a search runs.

On a terminal: one live line (tqdm), with the trials ended out of the total (done, stopped early
by the scheduler, errored), running and waiting at a rung, the best validation loss and accuracy
so far with its trial, the time elapsed and an estimate of the time left. Elsewhere (CI, `> log`,
nohup): that status as a plain line at least every `--log-every` seconds (60), no escape codes.
Both say each ended trial and each closed rung (how many went on) in a line of its own. A trial
error is always one line, with where its full traceback is. Ray's own trial table and its
workers' logs come back with `--verbose` (tune/engine/search.py, tune/engine/cluster.py).

The estimate (`time_left`): the passes the baseline still trains (its full schedule) and the
passes every other trial is expected to still train under halving, each at its kind's mean
seconds a pass, shared by the trials at a time.

The run's settings come from the run it is bound to (tune/engine/context.py): Ray pickles the
callback into the experiment and brings the old one back on resume.
"""

import sys
import time
from pathlib import Path

from ray.tune import Callback
from tqdm import tqdm

from data_utils.transforms import OFFLINE_ANGLES
from training import features
from tune import METRIC, MODE, ended_status, is_baseline, passes_of
from tune.engine.context import Bound
from tune.engine.rungs import expected_passes_left, milestones
from tune.experiment import failure_words, local_errors, trial_number


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return (
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )


def caches_building(exp_dir: Path) -> list[str]:
    """The caches a trial is building now (training/features.py), by model and size."""
    return [
        lock.name.removeprefix("features_").removesuffix(".pt.lock")
        for lock in sorted(exp_dir.glob("features_*.pt.lock"))
        if features.building(lock.with_suffix(""))
    ]


class Progress(Bound, Callback):
    def setup(self, **info):
        self.started = time.time()
        self.passes: dict[str, int] = {}  # trial id -> passes over the training split trained
        self.pass_seconds: dict[str, list[float]] = {}  # trial id -> seconds of each pass
        self.ended: dict[str, str] = {}  # trial id -> "COMPLETED" | "STOPPED" | "ERROR"
        self.best = None  # (val loss, val acc, trial number)
        self.caught_up, self.shown, self.logged = False, 0.0, time.time()
        self.live = sys.stdout.isatty()
        self.bar = (
            tqdm(
                total=self.run.num_samples,
                bar_format="trials |{bar:16}| {desc}",
                file=sys.stdout,
                dynamic_ncols=True,
            )
            if self.live
            else None
        )

    def __getstate__(self):  # Ray pickles the callback with the experiment: never the bar
        return {}

    def better(self, value: float) -> bool:
        return self.best is None or (
            value < self.best[0] if MODE == "min" else value > self.best[0]
        )

    def on_step_begin(self, iteration, trials, **info):
        """A resumed search: count what ended before it, from Ray's restored trials."""
        if self.caught_up:
            return
        self.caught_up = True
        for t in trials:
            passes = passes_of(t.last_result)
            if passes:
                self.passes[t.trial_id] = passes
                best = t.metric_analysis.get(METRIC, {}).get(MODE)
                if best is not None and self.better(best):
                    # the accuracy of that epoch is not at hand
                    self.best = (
                        best,
                        None,
                        trial_number(t),
                    )
            if t.status == "TERMINATED":
                self.ended[t.trial_id] = self.ended_status(t)
            elif t.status == "ERROR":
                self.ended[t.trial_id] = "ERROR"

    def on_step_end(self, iteration, trials, **info):
        for notice in self.run.notices:  # the scheduler's news: a rung closed
            self.say(notice, trials)
        self.run.notices.clear()
        # the clock ticks on between results; off a terminal, a line now and then says so
        if self.bar is not None and time.time() - self.shown >= 1:
            self.refresh(trials)
        elif self.bar is None and time.time() - self.logged >= self.run.log_every:
            self.log(self.status(trials))

    def on_trial_result(self, iteration, trials, trial, result, **info):
        done = passes_of(result)
        training = float(result.get("time_this_iter_s", 0.0)) - result.get("cache_s", 0.0)
        seconds = training / max(1, done - self.passes.get(trial.trial_id, 0))
        self.passes[trial.trial_id] = done
        self.pass_seconds.setdefault(trial.trial_id, []).append(seconds)
        if METRIC in result and self.better(result[METRIC]):
            self.best = (result[METRIC], result.get("val_acc", float("nan")), trial_number(trial))
        self.refresh(trials)

    def ended_status(self, trial) -> str:
        return ended_status(trial.last_result or {}, self.run.budget, self.run.budget_unit)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.ended[trial.trial_id] = self.ended_status(trial)
        passes = self.passes.get(trial.trial_id, 0)
        how = (
            "completed"
            if self.ended[trial.trial_id] == "COMPLETED"
            else "stopped early by the scheduler"
        )
        self.say(
            f"trial {trial_number(trial)} ({trial.trial_id}) {how} after {passes} "
            f"pass{'es' * (passes != 1)}: val "
            f"loss {trial.last_result.get(METRIC, float('nan')):.4f}, val "
            f"acc {100 * trial.last_result.get('val_acc', float('nan')):.1f}%",
            trials,
        )

    def on_trial_recover(self, iteration, trials, trial, **info):
        errors = local_errors(trial)
        self.say(
            f"trial {trial_number(trial)} ({trial.trial_id}) failed ({failure_words(errors)}): "
            f"restarted from its checkpoint",
            trials,
        )

    def on_trial_error(self, iteration, trials, trial, **info):
        self.ended[trial.trial_id] = "ERROR"
        error = str(trial.get_error() or "unknown error").strip().splitlines()[-1][:200]
        self.say(
            f"trial {trial_number(trial)} ({trial.trial_id}) failed: {error} "
            f"(traceback: {self.run.ray_path}/{trial.trial_id}/error.txt)",
            trials,
        )

    def on_experiment_end(self, trials, **info):
        if self.bar is not None:
            self.refresh(trials)
            self.bar.close()

    def say(self, line: str, trials) -> None:
        if self.bar is not None:
            self.bar.write(line)
            self.refresh(trials)
        else:
            self.log(f"{line} | {self.status(trials)}")

    def log(self, line: str) -> None:
        print(line, flush=True)
        self.logged = time.time()

    def refresh(self, trials) -> None:
        if self.bar is not None:
            self.bar.n = len(self.ended)
            self.bar.set_description_str(self.status(trials), refresh=True)
            self.shown = time.time()

    def status(self, trials) -> str:
        counts = {
            kind: list(self.ended.values()).count(kind)
            for kind in ("COMPLETED", "STOPPED", "ERROR")
        }
        running = sum(t.status == "RUNNING" and t.trial_id not in self.ended for t in trials)
        waiting = len(self.run.waiting)
        starting = sum(t.status == "PENDING" and t.trial_id not in self.run.waiting for t in trials)
        idle = (f", {waiting} waiting at a rung" if waiting else "") + (
            f", {starting} starting" if starting else ""  # a worker on its way
        )
        best = "no result yet"
        if self.best:
            accuracy = f", acc {100 * self.best[1]:.1f}%" if self.best[1] is not None else ""
            best = f"best val loss {self.best[0]:.4f}{accuracy} (trial {self.best[2]})"
        left = self.time_left(trials)
        caching = "".join(f", caching {name}" for name in caches_building(self.run.exp_dir))
        return (
            f"{len(self.ended)}/{self.run.num_samples} ended ({counts['COMPLETED']} "
            f"done, {counts['STOPPED']} stopped early, {counts['ERROR']} errored), {running} "
            f"running{idle}{caching} | {best} | {clock(time.time() - self.started)} "
            f"elapsed{f', ~{clock(left)} left' if left is not None else ''}"
        )

    def time_left(self, trials) -> float | None:
        """Seconds: the baseline's own passes left, and every other trial's expected passes left
        (tune/engine/rungs.py `expected_passes_left`; one waiting at a rung goes on with chance
        1/factor once it closes, one not started yet from the start), each at its kind's mean
        seconds a pass, shared by the trials at a time; never less than the baseline alone."""
        if not self.pass_seconds:
            return None
        run, factor = self.run, self.run.reduction_factor
        rungs = milestones(run.grace_period, factor, run.budget)
        baseline = next((t for t in trials if is_baseline(t.config, run.baseline)), None)
        others = [t for t in trials if t is not baseline]
        expected = 0.0
        for t in others:
            if t.trial_id not in self.ended:
                left = expected_passes_left(
                    self.passes.get(t.trial_id, 0), rungs, factor, run.budget
                )
                expected += left / factor if t.trial_id in run.waiting else left
        unstarted = max(0, run.num_samples - 1 - len(others))
        expected += unstarted * expected_passes_left(0, rungs, factor, run.budget)

        def mean_pass(chosen) -> float | None:  # each trial's mean seconds a pass, averaged
            means = [sum(s) / len(s) for t, s in self.pass_seconds.items() if t in chosen]
            return sum(means) / len(means) if means else None

        base_pass = mean_pass({baseline.trial_id} if baseline else set())
        other_pass = mean_pass({t.trial_id for t in others})
        base_pass, other_pass = base_pass or other_pass, other_pass or base_pass
        copies = 1 + len(OFFLINE_ANGLES) if run.baseline.get("offline_rotations") else 1
        baseline_left = 0.0
        if baseline is None or baseline.trial_id not in self.ended:
            done = self.passes.get(baseline.trial_id, 0) if baseline else 0
            baseline_left = (run.budget * copies - done) * base_pass
        return max(baseline_left, (baseline_left + expected * other_pass) / run.at_once)
