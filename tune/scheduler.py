"""Ray Tune's ASHA with two changes this project needs.

1. Its rungs survive an interrupted driver. Ray Tune saves the searcher with the experiment
   state but not the scheduler, so after `Tuner.restore` ASHA starts with empty rungs and judges
   a resumed trial against nothing (measured here; see DEVELOPERS.md). This class calls ASHA's
   own save/restore: it saves after every decision and reloads the file the first time it is
   used after a restore. The file's place is set by the driver for each run (`keep_state_in`),
   not pickled with the scheduler, so a moved experiment keeps its rungs.
2. The seed report's baseline is never stopped early: its results still fill the rungs, but it
   trains the full schedule, as the report did, so "the search beat the baseline" is measured
   against the real thing and not against a baseline cut off after one epoch.
3. Once the time budget is spent (tune/budget.py), it starts no trial and pauses each running
   trial at its next result, which comes with that epoch's checkpoint.
"""
import os

from ray.tune.schedulers import ASHAScheduler

from tune import budget, is_baseline


_state_file: str | None = None


def keep_state_in(path) -> None:
    """Where this run's ASHA saves (and, after a restore, reloads) its rungs."""
    global _state_file
    _state_file = str(path)


class ASHA(ASHAScheduler):
    def __init__(self, baseline: dict, **asha_args):
        super().__init__(**asha_args)
        self._baseline = baseline
        self._loaded = False

    def _load_once(self) -> None:
        if not self._loaded and os.path.exists(_state_file):
            baseline = self._baseline
            self.restore(_state_file)
            self._baseline = baseline
        self._loaded = True

    def _save(self) -> None:
        tmp = f"{_state_file}.tmp"
        self.save(tmp)
        os.replace(tmp, _state_file)

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
        if action == self.CONTINUE and budget.spent():
            return self.PAUSE
        return action

    def choose_trial_to_run(self, tune_controller):
        return None if budget.spent() else super().choose_trial_to_run(tune_controller)

    def on_trial_complete(self, tune_controller, trial, result):
        self._load_once()
        if trial.trial_id in self._trial_info:
            super().on_trial_complete(tune_controller, trial, result)
        self._save()

    def on_trial_remove(self, tune_controller, trial):
        self._load_once()
        self._trial_info.pop(trial.trial_id, None)
        self._save()
