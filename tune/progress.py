"""What a person sees while a search runs.

On a terminal: one live line (tqdm), with the trials ended out of the total (done, stopped early
by ASHA, errored) and running, the best validation loss and accuracy so far with its trial, the
time elapsed and an estimate of the time left. Elsewhere (CI, `> log`): one plain line per ended
trial, no escape codes. A trial error is always one line, with where its full traceback is.
Ray's own trial table and its workers' logs come back with `--verbose` (tune/search.py, tune/cluster.py).

The estimate: epochs still to train x the mean epoch time seen so far / trials at a time. A trial
still to run is expected to train as many epochs as the non-baseline trials that ended did (before
any has ended: what ASHA's rungs allow if a trial passes each with probability 1/reduction factor);
the baseline, which ASHA never stops, trains all its epochs.

Like the time budget, the settings live in this module, set by the driver for each run: Ray
pickles the callback into the experiment and brings the old one back on resume.
"""
import sys
import time

from ray.tune import Callback
from tqdm import tqdm

from tune import METRIC, MODE, is_baseline
from tune.experiment import ended_status, trial_number

_settings: dict = {}


def configure(total: int, max_epochs: int, at_once: int, baseline: dict, rungs: tuple[int, float],
              trial_folder: str) -> None:
    """rungs: (ASHA's grace period, its reduction factor). trial_folder: where trials' error.txt are."""
    _settings.update(total=total, max_epochs=max_epochs, at_once=max(1, at_once), baseline=baseline,
                     rungs=rungs, trial_folder=trial_folder)


def prior_epochs(max_epochs: int, grace: int, factor: float) -> float:
    """Epochs a trial trains on average if it passes each of ASHA's rungs with probability 1/factor."""
    expected, start, milestone, survive = 0.0, 0, grace, 1.0
    while start < max_epochs:
        end = min(milestone, max_epochs)
        expected += (end - start) * survive
        start, milestone, survive = end, milestone * factor, survive / factor
    return expected


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class Progress(Callback):
    def setup(self, **info):
        self.started = time.time()
        self.epochs: dict[str, int] = {}  # trial id -> epochs trained
        self.epoch_seconds: list[float] = []
        self.ended: dict[str, str] = {}  # trial id -> "COMPLETED" | "STOPPED" | "ERROR"
        self.best = None  # (val loss, val acc, trial number)
        self.caught_up, self.shown = False, 0.0
        self.live = sys.stdout.isatty()
        self.bar = tqdm(total=_settings["total"], bar_format="trials |{bar:16}| {desc}", file=sys.stdout,
                        dynamic_ncols=True) if self.live else None

    def __getstate__(self):  # Ray pickles the callback with the experiment: never the bar
        return {}

    def better(self, value: float) -> bool:
        return self.best is None or (value < self.best[0] if MODE == "min" else value > self.best[0])

    def on_step_begin(self, iteration, trials, **info):
        """A resumed search: count what ended before it, from Ray's restored trials."""
        if self.caught_up:
            return
        self.caught_up = True
        for t in trials:
            epochs = int(t.last_result.get("epoch", 0))
            if epochs:
                self.epochs[t.trial_id] = epochs
                best = t.metric_analysis.get(METRIC, {}).get(MODE)
                if best is not None and self.better(best):
                    self.best = (best, None, trial_number(t))  # the accuracy of that epoch is not at hand
            if t.status == "TERMINATED":
                self.ended[t.trial_id] = ended_status(epochs, _settings["max_epochs"])
            elif t.status == "ERROR":
                self.ended[t.trial_id] = "ERROR"

    def on_step_end(self, iteration, trials, **info):
        if self.bar is not None and time.time() - self.shown >= 1:  # the clock ticks on between results
            self.refresh(trials)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.epochs[trial.trial_id] = int(result.get("epoch", 0))
        self.epoch_seconds.append(float(result.get("time_this_iter_s", 0.0)))
        if METRIC in result and self.better(result[METRIC]):
            self.best = (result[METRIC], result.get("val_acc", float("nan")), trial_number(trial))
        self.refresh(trials)

    def on_trial_complete(self, iteration, trials, trial, **info):
        epochs = self.epochs.get(trial.trial_id, 0)
        self.ended[trial.trial_id] = ended_status(epochs, _settings["max_epochs"])
        self.say(f"trial {trial_number(trial)} ({trial.trial_id}) "
                 f"{'completed' if self.ended[trial.trial_id] == 'COMPLETED' else 'stopped early by ASHA'} after "
                 f"{epochs} epoch{'s' * (epochs != 1)}: val loss {trial.last_result.get(METRIC, float('nan')):.4f}, "
                 f"val acc {100 * trial.last_result.get('val_acc', float('nan')):.1f}%", trials)

    def on_trial_error(self, iteration, trials, trial, **info):
        self.ended[trial.trial_id] = "ERROR"
        error = str(trial.get_error() or "unknown error").strip().splitlines()[-1][:200]
        self.say(f"trial {trial_number(trial)} ({trial.trial_id}) failed: {error} "
                 f"(traceback: {_settings['trial_folder']}/{trial.trial_id}/error.txt)", trials)

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
        counts = {kind: list(self.ended.values()).count(kind) for kind in ("COMPLETED", "STOPPED", "ERROR")}
        running = sum(t.status == "RUNNING" and t.trial_id not in self.ended for t in trials)
        best = "no result yet"
        if self.best:
            accuracy = f", acc {100 * self.best[1]:.1f}%" if self.best[1] is not None else ""
            best = f"best val loss {self.best[0]:.4f}{accuracy} (trial {self.best[2]})"
        left = self.time_left(trials)
        return (f"{len(self.ended)}/{_settings['total']} ended ({counts['COMPLETED']} done, {counts['STOPPED']} stopped "
                f"early, {counts['ERROR']} errored), {running} running | {best} | {clock(time.time() - self.started)} "
                f"elapsed{f', ~{clock(left)} left' if left is not None else ''}")

    def time_left(self, trials) -> float | None:
        if not self.epoch_seconds:
            return None
        max_epochs = _settings["max_epochs"]
        ended_epochs = [self.epochs.get(t.trial_id, 0) for t in trials
                        if t.trial_id in self.ended and not is_baseline(t.config, _settings["baseline"])]
        per_trial = (sum(ended_epochs) / len(ended_epochs) if ended_epochs
                     else prior_epochs(max_epochs, *_settings["rungs"]))
        remaining = 0.0
        for t in trials:
            if t.trial_id in self.ended or t.status in ("TERMINATED", "ERROR"):
                continue
            target = max_epochs if is_baseline(t.config, _settings["baseline"]) else per_trial
            remaining += max(0.0, target - self.epochs.get(t.trial_id, 0))
        remaining += max(0, _settings["total"] - len(trials)) * per_trial  # not yet suggested
        mean_epoch = sum(self.epoch_seconds) / len(self.epoch_seconds)
        return remaining * mean_epoch / _settings["at_once"]
