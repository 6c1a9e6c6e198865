"""Successive halving by promotion, on a budget of training images, with Ray's pause and resume.

Why not Ray's async ASHA (`SearchSpaceASHA` below keeps it, for benchmarks/scheduler_compare.py):
it judged trials per epoch, so a trial with the report's offline rotated copies (3x the images
per epoch) was compared with 1x trials after 3x the compute; and an empty rung has no cutoff, so
with two trials at a time the first trials to reach each rung went on unjudged (Ray issue #4401).

What this scheduler does instead (promotion-based ASHA, as syne-tune's "promotion" type and
Li et al. 2020; Ray's HyperBandScheduler pauses and resumes trials the same way):
- Budget: passes over the training split (`passes` in each result; training/loop.py reports a
  3x epoch as three passes). Rungs at grace_period x factor^k passes, below max_t.
- A trial that reaches a rung is recorded there and goes on only if it is among the best
  1/factor of the results the rung has so far; otherwise it is PAUSED with the checkpoint it has
  just reported. A paused trial is resumed (promoted) as soon as enough later results at its
  rung put it in that top share; trials waiting at a higher rung go first.
- A rung is closed when no trial can still reach it (every trial has been suggested, and none is
  running or waiting below it): its best max(1, n // factor) go on, the others are stopped.
  So at least one trial reaches max_t, and no paused trial is left at the end.
- The report's baseline fills the rungs but is never paused or stopped: it trains its full
  schedule (training/loop.py), as the report did.
- When nothing else is ready to run, a trial is given the idle CPUs (it pauses and resumes with
  more torch threads, Ray's `Trial.update_resources`), and gives them back when others are ready.
- `--time-budget`: once spent, nothing starts and running trials pause at their next result.

Ray does not save a scheduler with the experiment: this one writes its rungs to a JSON file in
the experiment folder after every decision and reads it back the first time it is used in a run.
"""

import json
import os

from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from tune import METRIC, MODE, is_baseline
from tune.engine.context import Bound

TIME_ATTR = "passes"


def milestones(grace_period: int, reduction_factor: int, max_t: int) -> list[int]:
    found, milestone = [], grace_period
    while milestone < max_t:
        found.append(milestone)
        milestone *= reduction_factor
    return found


def expected_passes_left(at: int, rungs: list[int], reduction_factor: int, max_t: int) -> float:
    """Passes a trial (not the baseline) that has trained `at` passes is expected to still train:
    on to its next rung, then at each rung on with chance 1/factor, up to max_t."""
    total, chance, start = 0.0, 1.0, at
    for milestone in [m for m in rungs + [max_t] if m > at]:
        total += chance * (milestone - start)
        chance, start = chance / reduction_factor, milestone
    return total


def stop_paused(tune_controller, trial) -> None:
    """Ray's stop_trial on a paused trial, which has no actor, sets it TERMINATED but never marks
    it for the experiment state, where it would stay PAUSED (Ray 2.60): marked here, privately
    (tests/test_scheduler.py's search fails if an upgrade changes this)."""
    tune_controller.stop_trial(trial)
    tune_controller._mark_trial_to_checkpoint(trial)


def cpus_of(trial) -> int:
    return int(trial.placement_group_factory.required_resources.get("CPU", 1))


class SuccessiveHalving(Bound, FIFOScheduler):
    def __init__(self, baseline: dict, max_t: int, grace_period: int, reduction_factor: int):
        super().__init__()
        self._metric, self._mode = METRIC, MODE
        self.baseline, self.max_t, self.factor = baseline, max_t, reduction_factor
        self.milestones = milestones(grace_period, reduction_factor, max_t)
        self.rungs: dict[int, dict[str, float]] = {
            m: {} for m in self.milestones
        }  # trial id -> value
        self.waiting: dict[str, int] = {}  # trial id -> the rung it is paused at
        self.progress: dict[str, int] = {}  # trial id -> passes reported
        self.seen: set[str] = set()  # every trial ever added
        self.ended: set[str] = set()
        self.closed: set[int] = set()
        self.resize: dict[str, int] = {}  # trial id -> CPUs it resumes with
        self._loaded = False

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return True  # the metric is the project's (tune.METRIC)

    # -- the state file ---------------------------------------------------------------------
    STATE = ("rungs", "waiting", "progress", "seen", "ended", "closed")

    def _load_once(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.run and self.run.state_file.exists():
            state = json.loads(self.run.state_file.read_text())
            self.rungs = {int(m): values for m, values in state["rungs"].items()}
            self.waiting, self.progress = state["waiting"], state["progress"]
            self.seen, self.ended, self.closed = (
                set(state["seen"]),
                set(state["ended"]),
                set(state["closed"]),
            )

    def _save(self) -> None:
        if not self.run:
            return
        self.run.waiting = set(self.waiting)  # what RunningLimiter does not count as running
        state = {name: getattr(self, name) for name in self.STATE}
        state.update(seen=sorted(self.seen), ended=sorted(self.ended), closed=sorted(self.closed))
        tmp = self.run.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.run.state_file)

    # -- decisions --------------------------------------------------------------------------
    def _ranked(self, milestone: int) -> list[str]:
        values = self.rungs[milestone]
        return sorted(values, key=lambda t: values[t] if MODE == "min" else -values[t])

    def promotable(self, trial_id: str, milestone: int) -> bool:
        """Among the best 1/factor of the results at this rung so far (none while it has fewer
        than `factor`: no trial passes a rung unjudged)."""
        return trial_id in self._ranked(milestone)[: len(self.rungs[milestone]) // self.factor]

    def is_baseline(self, trial) -> bool:
        return is_baseline(trial.config, self.baseline)

    def on_trial_add(self, tune_controller, trial):
        self._load_once()
        self.seen.add(trial.trial_id)
        if trial.trial_id in self.waiting and trial.status == Trial.PENDING:
            trial.set_status(Trial.PAUSED)  # restored by --resume: it still waits at its rung
        self._save()

    def on_trial_result(self, tune_controller, trial, result):
        self._load_once()
        passes = int(result.get(TIME_ATTR, result.get("training_iteration", 0)))
        self.progress[trial.trial_id] = passes
        reached = None
        for milestone in self.milestones:
            if milestone <= passes and trial.trial_id not in self.rungs[milestone]:
                self.rungs[milestone][trial.trial_id] = result[METRIC]
                reached = milestone
        action = self.CONTINUE
        if not self.is_baseline(trial):
            if passes >= self.max_t:
                action = self.STOP
            elif reached is not None and not self.promotable(trial.trial_id, reached):
                self.waiting[trial.trial_id] = reached
                action = self.PAUSE
        if action == self.CONTINUE and self.run and self.run.spent():
            action = self.PAUSE
        if action == self.CONTINUE:
            action = self._maybe_resize(tune_controller, trial)
        self._save()
        return action

    def on_trial_complete(self, tune_controller, trial, result):
        self._load_once()
        self._end(trial.trial_id)

    def on_trial_error(self, tune_controller, trial):
        self._load_once()
        self._end(trial.trial_id)

    def on_trial_remove(self, tune_controller, trial):
        self._load_once()
        self._end(trial.trial_id)

    def _end(self, trial_id: str) -> None:
        self.ended.add(trial_id)
        self.waiting.pop(trial_id, None)
        self._save()

    def choose_trial_to_run(self, tune_controller):
        self._load_once()
        if self.run and self.run.spent():
            return None
        trials = {t.trial_id: t for t in tune_controller.get_trials()}
        self._close_rungs(tune_controller, trials)
        for trial_id, cpus in list(self.resize.items()):
            trial = trials.get(trial_id)
            if trial is not None and trial.status == Trial.PAUSED:
                trial.update_resources({"CPU": cpus})
                del self.resize[trial_id]
                return trial
        for milestone in reversed(self.milestones):
            for trial_id in self._ranked(milestone):
                if self.waiting.get(trial_id) == milestone and self.promotable(trial_id, milestone):
                    return self._promote(trials[trial_id])
        for status in (Trial.PENDING, Trial.PAUSED):  # new trials, then any paused by the budget
            for trial in trials.values():
                if trial.status == status and trial.trial_id not in self.waiting:
                    return trial
        return None

    def _promote(self, trial):
        del self.waiting[trial.trial_id]
        self._save()
        return trial

    def _below(self, trials: dict, milestone: int) -> bool:
        """Whether a trial that is not the baseline may still reach this rung."""
        for trial_id, trial in trials.items():
            if trial_id in self.ended or trial.status in (Trial.TERMINATED, Trial.ERROR):
                continue
            if not self.is_baseline(trial) and self.progress.get(trial_id, 0) < milestone:
                return True
        return False

    def _close_rungs(self, tune_controller, trials: dict) -> None:
        """Once every trial has been suggested, close each rung that nothing can reach any more:
        its best max(1, n // factor) waiting trials go on, the others stop."""
        if not self.run or len(self.seen) < self.run.num_samples:
            return
        for milestone in self.milestones:
            if milestone in self.closed:
                continue
            waiting_here = [t for t in self._ranked(milestone) if self.waiting.get(t) == milestone]
            others = {t: trial for t, trial in trials.items() if t not in waiting_here}
            if self._below(others, milestone):
                return  # this rung, and every rung above it, may still get results
            if any(trials[t].status != Trial.PAUSED for t in waiting_here if t in trials):
                return  # a trial still saving its pause: stopped now, Ray would drop its checkpoint
            self.closed.add(milestone)
            best = self._ranked(milestone)[: max(1, len(self.rungs[milestone]) // self.factor)]
            for trial_id in waiting_here:
                if trial_id in best:
                    del self.waiting[trial_id]  # promoted: choose_trial_to_run starts it as PAUSED
                else:
                    stop_paused(tune_controller, trials[trial_id])
            went_on = sum(t in best for t in waiting_here)
            self.run.notices.append(
                f"rung at {milestone} pass{'es' * (milestone != 1)} closed with "
                f"{len(self.rungs[milestone])} results: {went_on} of the {len(waiting_here)} "
                f"waiting there go on, {len(waiting_here) - went_on} stopped"
            )
            self._save()
            if any(t in best for t in waiting_here):
                return  # the promoted trials must reach the next rung before it can close

    def _maybe_resize(self, tune_controller, trial) -> str:
        """Idle CPUs to a running trial when nothing else is ready to run; back when others are."""
        if not self.run:
            return self.CONTINUE
        trials = tune_controller.get_trials()
        running = [t for t in trials if t.status == Trial.RUNNING and t is not trial]
        ready = [t for t in trials if t.status == Trial.PENDING and t.trial_id not in self.waiting]
        more_to_come = len(self.seen) < self.run.num_samples or any(
            t.status == Trial.PAUSED for t in trials
        )
        held, base = cpus_of(trial), self.run.cpus_per_trial
        idle = self.run.cpus - sum(cpus_of(t) for t in running)
        wanted = idle if not ready and not more_to_come else base
        wanted = max(base, min(wanted, self.run.cpus))
        if wanted == held:
            return self.CONTINUE
        self.resize[trial.trial_id] = wanted
        return self.PAUSE

    def debug_string(self) -> str:
        sizes = ", ".join(f"{m}: {len(v)}" for m, v in self.rungs.items())
        return f"SuccessiveHalving: rungs (passes: results) {sizes}; {len(self.waiting)} waiting"


class SearchSpaceASHA(Bound, ASHAScheduler):
    """The scheduler before SuccessiveHalving, kept for benchmarks/scheduler_compare.py: Ray's
    async ASHA judging per epoch, the baseline never stopped, the time budget, its rungs saved."""

    def __init__(self, baseline: dict, **asha_args):
        super().__init__(**asha_args)
        self._baseline = baseline
        self._loaded = False

    def _state(self):
        return self.run.exp_dir / "asha_state.pkl" if self.run else None

    def _load_once(self) -> None:
        if not self._loaded and self._state() and self._state().exists():
            baseline, run = self._baseline, self.run
            self.restore(str(self._state()))
            self._baseline, self.run = baseline, run
        self._loaded = True

    def _save(self) -> None:
        if self._state():
            tmp = f"{self._state()}.tmp"
            self.save(tmp)
            os.replace(tmp, self._state())

    def on_trial_add(self, tune_controller, trial):
        self._load_once()
        if trial.trial_id not in self._trial_info:
            super().on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result):
        self._load_once()
        action = super().on_trial_result(tune_controller, trial, result)
        self._save()
        stopped_early = action == self.STOP and result.get(self._time_attr, 0) < self._max_t
        if stopped_early and is_baseline(trial.config, self._baseline):
            action = self.CONTINUE
        if action == self.CONTINUE and self.run and self.run.spent():
            return self.PAUSE
        return action

    def choose_trial_to_run(self, tune_controller):
        return (
            None if self.run and self.run.spent() else super().choose_trial_to_run(tune_controller)
        )

    def on_trial_complete(self, tune_controller, trial, result):
        self._load_once()
        if trial.trial_id in self._trial_info:
            super().on_trial_complete(tune_controller, trial, result)
        self._save()

    def on_trial_remove(self, tune_controller, trial):
        self._load_once()
        self._trial_info.pop(trial.trial_id, None)
        self._save()
