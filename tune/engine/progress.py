"""What a person sees while a search runs.

On a terminal: one live line (tqdm), with the trials ended out of the total (done, stopped early
by the scheduler, errored) and running, the best validation loss and accuracy so far with its trial,
the time elapsed and an estimate of the time left. Elsewhere (CI, `> log`): one plain line per ended
trial, no escape codes. A trial error is always one line, with where its full traceback is.
Ray's own trial table and its workers' logs come back with `--verbose` (tune/engine/search.py,
tune/engine/cluster.py).

The estimate: the passes over the training split still to train under the halving plan
(tune/engine/scheduler.py `planned_passes`: every trial to the first rung, a third of them to the
next, ...; the baseline its full schedule), x the mean seconds a trial takes per pass, / trials at a
time; never less than what the baseline alone still needs, since it runs to the end.

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
from tune import METRIC, MODE, is_baseline
from tune.engine.context import Bound
from tune.engine.scheduler import milestones, planned_passes
from tune.experiment import (
    ended_status,
    failure_words,
    local_errors,
    passes_of,
    trial_number,
)


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
        self.caught_up, self.shown = False, 0.0
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
                self.ended[t.trial_id] = ended_status(passes, self.run.max_epochs)
            elif t.status == "ERROR":
                self.ended[t.trial_id] = "ERROR"

    def on_step_end(self, iteration, trials, **info):
        # the clock ticks on between results
        if self.bar is not None and time.time() - self.shown >= 1:
            self.refresh(trials)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        done = passes_of(result)
        training = float(result.get("time_this_iter_s", 0.0)) - result.get("cache_s", 0.0)
        seconds = training / max(1, done - self.passes.get(trial.trial_id, 0))
        self.passes[trial.trial_id] = done
        self.pass_seconds.setdefault(trial.trial_id, []).append(seconds)
        if METRIC in result and self.better(result[METRIC]):
            self.best = (result[METRIC], result.get("val_acc", float("nan")), trial_number(trial))
        self.refresh(trials)

    def on_trial_complete(self, iteration, trials, trial, **info):
        passes = self.passes.get(trial.trial_id, 0)
        self.ended[trial.trial_id] = ended_status(passes, self.run.max_epochs)
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
            print(f"{line} | {self.status(trials)}", flush=True)

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
        best = "no result yet"
        if self.best:
            accuracy = f", acc {100 * self.best[1]:.1f}%" if self.best[1] is not None else ""
            best = f"best val loss {self.best[0]:.4f}{accuracy} (trial {self.best[2]})"
        left = self.time_left(trials)
        caching = "".join(f", caching {name}" for name in caches_building(self.run.exp_dir))
        return (
            f"{len(self.ended)}/{self.run.num_samples} ended ({counts['COMPLETED']} "
            f"done, {counts['STOPPED']} stopped early, {counts['ERROR']} errored), {running} "
            f"running{caching} | {best} | {clock(time.time() - self.started)} "
            f"elapsed{f', ~{clock(left)} left' if left is not None else ''}"
        )

    def time_left(self, trials) -> float | None:
        if not self.pass_seconds:
            return None
        run = self.run
        baseline = next((t for t in trials if is_baseline(t.config, run.baseline)), None)
        copies = 1 + len(OFFLINE_ANGLES) if run.baseline.get("offline_rotations") else 1
        baseline_passes = run.max_epochs * copies  # its full schedule: every epoch, every copy
        planned = baseline_passes + planned_passes(
            run.num_samples - 1, run.grace_period, run.reduction_factor, run.max_epochs
        )
        left = planned - sum(self.passes.values())
        rungs = milestones(run.grace_period, run.reduction_factor, run.max_epochs) + [
            run.max_epochs
        ]
        done = {t.trial_id: self.passes.get(t.trial_id, 0) for t in trials}
        running = [
            t
            for t in trials
            if t.status == "RUNNING"
            and t.trial_id not in self.ended
            and t is not baseline
            and done[t.trial_id] < run.max_epochs
        ]
        to_next_rung = sum(
            min(m for m in rungs if m > done[t.trial_id]) - done[t.trial_id] for t in running
        )
        # a pass of a random trial: each trial's mean seconds per pass, averaged over trials
        per_trial = [sum(s) / len(s) for s in self.pass_seconds.values()]
        mean_pass = sum(per_trial) / len(per_trial)
        estimate = max(left, to_next_rung) * mean_pass / run.at_once
        if (
            baseline is not None
            and baseline.trial_id not in self.ended
            and baseline.trial_id in self.pass_seconds
        ):
            seconds = self.pass_seconds[baseline.trial_id]
            baseline_left = (
                (baseline_passes - done[baseline.trial_id]) * sum(seconds) / len(seconds)
            )
            estimate = max(estimate, baseline_left)
        return max(0.0, estimate)
