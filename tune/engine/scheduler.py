"""Successive halving by promotion, on a budget of training images, with Ray's pause and resume.

Why not Ray's async ASHA (benchmarks/old_asha.py keeps it, for benchmarks/scheduler_compare.py):
it judged trials per epoch, so a trial with the report's offline rotated copies (3x the images
per epoch) was compared with 1x trials after 3x the compute; and an empty rung has no cutoff, so
with two trials at a time the first trials to reach each rung went on unjudged (Ray issue #4401).

The decisions are tune/engine/rungs.py's (promotion-based ASHA, as syne-tune's "promotion" type
and Li et al. 2020; Ray's HyperBandScheduler pauses and resumes trials the same way). This module
applies them to Ray's trials: a trial told to wait is PAUSED with the checkpoint it has just
reported, a promoted one is resumed, a closed rung's losers are stopped; the baseline is the trial
whose config carries the flag the searcher set when it enqueued it (`tune.is_baseline`).
- When nothing else is ready to run, a trial is given the idle CPUs (it pauses and resumes with
  more torch threads, Ray's `Trial.update_resources`), and gives them back when others are ready
  (`CpuRebalancer`).
- `--time-budget`: once spent, nothing starts and running trials pause at their next result.

Ray does not save a scheduler with the experiment: this one writes its rungs to a JSON file in
the experiment folder after every decision and reads it back the first time it is used in a run.
"""

import json

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler

from tune import METRIC, is_baseline, passes_of
from tune.engine import private, rungs
from tune.engine.context import Bound
from tune.results import save_atomic


def stop_paused(tune_controller, trial) -> None:
    """Ray's stop_trial on a trial with no actor (paused, or pending after --resume) tells the
    searcher it ended without its last result, which Ray hands over only when it stops a running
    trial (not with a STOP, so a kill in between leaves the study without it): handed over here.
    And it sets the trial TERMINATED but never marks it for the experiment state, where it would
    stay PAUSED (Ray 2.60): marked here, privately (tests/test_scheduler.py's search fails if an
    upgrade changes this)."""
    last = trial.run_metadata.last_result
    tune_controller.search_alg.on_trial_complete(trial.trial_id, result=last)
    tune_controller.stop_trial(trial)
    private.mark_trial_to_checkpoint(tune_controller, trial)


def cpus_of(trial) -> int:
    return int(trial.placement_group_factory.required_resources.get("CPU", 1))


class CpuRebalancer:
    """Idle CPUs to a running trial when nothing else is ready to run; back when others are."""

    def __init__(self):
        self.resize: dict[str, int] = {}  # trial id -> CPUs it resumes with

    def wants_pause(self, run, trials: list, trial, waiting: dict, all_suggested: bool) -> bool:
        """Whether `trial` should pause now to come back with another number of CPUs."""
        running = [t for t in trials if t.status == Trial.RUNNING and t is not trial]
        ready = [t for t in trials if t.status == Trial.PENDING and t.trial_id not in waiting]
        more_to_come = not all_suggested or any(t.status == Trial.PAUSED for t in trials)
        held, base = cpus_of(trial), run.cpus_per_trial
        idle = run.cpus - sum(cpus_of(t) for t in running)
        wanted = idle if not ready and not more_to_come else base
        wanted = max(base, min(wanted, run.cpus))
        if wanted == held:
            return False
        self.resize[trial.trial_id] = wanted
        return True

    def resumed(self, trials: dict):
        """A trial paused to be resized, now resized and chosen to run; None if none is."""
        for trial_id, cpus in list(self.resize.items()):
            trial = trials.get(trial_id)
            if trial is not None and trial.status == Trial.PAUSED:
                trial.update_resources({"CPU": cpus})
                del self.resize[trial_id]
                return trial
        return None


class SuccessiveHalving(Bound, FIFOScheduler):
    _lost_forgotten = False

    def __init__(self, max_t: int, grace_period: int, reduction_factor: int):
        super().__init__()
        self._metric = METRIC  # what Ray's schedulers keep theirs in
        self.halving = rungs.Rungs.create(grace_period, reduction_factor, max_t)
        self.cpus = CpuRebalancer()
        self._loaded = False

    def __setstate__(self, state: dict):
        """Back from Ray's pickle (tuner.pkl, on --resume). One pickled before the rungs were their
        own object kept them as its fields: its milestones and factor make the same rungs, whose
        results are read back from the state file on first use, as always."""
        if "halving" not in state:
            found = state.get("milestones", [])
            halving = rungs.Rungs(found, state["factor"], state["max_t"], {m: {} for m in found})
            state = {"halving": halving, "cpus": CpuRebalancer(), "_loaded": False}
        self.__dict__.update(state)
        self._metric = METRIC

    # what tests and the live line read of the rungs
    rungs = property(lambda self: self.halving.results)
    waiting = property(lambda self: self.halving.waiting)
    closed = property(lambda self: self.halving.closed)

    def bind(self, run):
        self._lost_forgotten = False  # once per run, when Ray has brought back what it saved
        self.halving.total = run.num_samples
        return super().bind(run)

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return True  # the metric is the project's (tune.METRIC)

    # -- the state file ---------------------------------------------------------------------
    def _load_once(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.run and self.run.state_file.exists():
            self.halving.restore(json.loads(self.run.state_file.read_text()))

    def _save(self) -> None:
        if not self.run:
            return
        self.run.waiting = set(self.halving.waiting)  # what RunningLimiter does not count
        text = json.dumps(self.halving.state())
        save_atomic(self.run.state_file, lambda tmp: tmp.write_text(text))

    def _all_suggested(self) -> bool:
        return self.run is not None and len(self.halving.seen) >= self.run.num_samples

    # -- Ray's calls ------------------------------------------------------------------------
    def on_trial_add(self, tune_controller, trial):
        self._load_once()
        self.halving.add(trial.trial_id, baseline=is_baseline(trial.config, self.run_baseline()))
        # restored by --resume: Ray's saved state may lag this file by a result or two
        self.halving.rewind(trial.trial_id, passes_of(trial.run_metadata.last_result))
        if trial.trial_id in self.halving.waiting and trial.status == Trial.PENDING:
            trial.set_status(Trial.PAUSED)  # restored by --resume: it still waits at its rung
        self._save()

    def run_baseline(self) -> dict | None:
        """The baseline's config, for an experiment from before the searcher flagged it."""
        return self.run.baseline if self.run else None

    def on_trial_result(self, tune_controller, trial, result):
        self._load_once()
        passes = passes_of(result)
        action = {rungs.CONTINUE: self.CONTINUE, rungs.PAUSE: self.PAUSE, rungs.STOP: self.STOP}[
            self.halving.report(trial.trial_id, passes, result[METRIC])
        ]
        if action == self.CONTINUE and self.run and self.run.spent():
            action = self.PAUSE
        if action == self.CONTINUE and self.run:
            trials = tune_controller.get_trials()
            waiting, everyone = self.halving.waiting, self._all_suggested()
            if self.cpus.wants_pause(self.run, trials, trial, waiting, everyone):
                action = self.PAUSE
        self._save()
        return action

    def on_trial_complete(self, tune_controller, trial, result):
        self._end(trial.trial_id)

    def on_trial_error(self, tune_controller, trial):
        self._end(trial.trial_id)

    def on_trial_remove(self, tune_controller, trial):
        self._end(trial.trial_id)

    def _end(self, trial_id: str) -> None:
        """A trial Ray ended. One stopped here (by a rung, or as hopeless) is already ended in
        the rungs' file, saved by the decision that stopped it: not saved again (the file is
        rewritten whole, ~2 ms at 1,000 trials)."""
        self._load_once()
        if trial_id in self.halving.ended:
            return
        self.halving.end(trial_id)
        self._save()

    def choose_trial_to_run(self, tune_controller):
        self._load_once()
        if self.run and self.run.spent():
            return None
        trials = {t.trial_id: t for t in tune_controller.get_trials()}
        self._agree_with_ray(tune_controller, trials)
        self._stop_hopeless(tune_controller, trials)
        self._close_rungs(tune_controller, trials)
        resized = self.cpus.resumed(trials)
        if resized is not None:
            return resized
        promoted = self.halving.promote()
        if promoted is not None:
            self._save()
            return trials[promoted]
        for status in (Trial.PENDING, Trial.PAUSED):  # new trials, then any paused by the budget
            for trial in trials.values():
                if trial.status == status and trial.trial_id not in self.halving.waiting:
                    return trial
        return None

    def _agree_with_ray(self, tune_controller, trials: dict) -> None:
        """After a kill, Ray brings back what it last saved, a second or so behind the rungs'
        file: a trial it had not saved is forgotten (Ray starts another in its place); one
        stopped here that it saved paused, or running (it brings that back PENDING, to run on),
        is stopped (one behind in passes: `on_trial_add`). A trial that errored comes back
        PENDING too, and runs again: Ray retries it."""
        if not self._lost_forgotten:
            self._lost_forgotten = True
            for trial_id in self.halving.seen - set(trials):
                self.halving.forget(trial_id)
        for trial in trials.values():
            paused = trial.status == Trial.PAUSED and trial.trial_id in self.halving.ended
            pending = trial.status == Trial.PENDING and trial.trial_id in self.halving.stopped
            if paused or pending:
                stop_paused(tune_controller, trial)  # stopped here, but Ray had saved it on

    def _stop_hopeless(self, tune_controller, trials: dict) -> None:
        """Waiting trials that later results have left no chance of going on stop now (once
        paused: one still saving its pause would lose the checkpoint tune.promote may read)."""
        stopped = [
            trial_id
            for trial_id in self.halving.hopeless_waiting()
            if trial_id in trials and trials[trial_id].status == Trial.PAUSED
        ]
        for trial_id in stopped:
            self.halving.stop(trial_id)
            stop_paused(tune_controller, trials[trial_id])
        if stopped:
            self._save()

    def _close_rungs(self, tune_controller, trials: dict) -> None:
        """Once every trial has been suggested, close each rung that nothing can reach any more:
        its losers are stopped, its winners resumed (by choose_trial_to_run, as PAUSED)."""
        if not self._all_suggested():
            return
        live = {
            t for t, trial in trials.items() if trial.status not in (Trial.TERMINATED, Trial.ERROR)
        } - self.halving.ended
        while (milestone := self.halving.closable(live)) is not None:
            here = [t for t, m in self.halving.waiting.items() if m == milestone]
            if any(trials[t].status != Trial.PAUSED for t in here if t in trials):
                return  # a trial still saving its pause: stopped now, Ray would drop its checkpoint
            went_on, stopped = self.halving.close(milestone)
            for trial_id in stopped:
                stop_paused(tune_controller, trials[trial_id])
            results = len(self.halving.results[milestone])
            self.run.notices.append(
                f"rung at {milestone} pass{'es' * (milestone != 1)} closed with {results} results: "
                f"{len(went_on)} of the {len(here)} waiting there go on, {len(stopped)} stopped"
            )
            self._save()
            if went_on:
                return  # the promoted trials must reach the next rung before it can close
            live -= set(stopped)

    def debug_string(self) -> str:
        sizes = ", ".join(f"{m}: {len(v)}" for m, v in self.halving.results.items())
        return f"SuccessiveHalving: rungs (passes: results) {sizes}; {len(self.waiting)} waiting"
