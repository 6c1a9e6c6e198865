"""ASHA whose rungs survive an interrupted driver.

Ray Tune saves the searcher with the experiment state but not the scheduler, so after
`Tuner.restore` ASHA starts with empty rungs and judges a resumed trial against nothing
(measured here; see DEVELOPERS.md). This subclass calls ASHA's own save/restore: it saves
after every decision and reloads the file the first time it is used after a restore.
"""
import os

from ray.tune.schedulers import ASHAScheduler


class ResumableASHA(ASHAScheduler):
    def __init__(self, state_file: str, **asha_args):
        super().__init__(**asha_args)
        self._state_file = state_file
        self._loaded = False

    def _load_once(self) -> None:
        if not self._loaded and os.path.exists(self._state_file):
            state_file = self._state_file
            self.restore(state_file)
            self._state_file = state_file
        self._loaded = True

    def _save(self) -> None:
        tmp = f"{self._state_file}.tmp"
        self.save(tmp)
        os.replace(tmp, self._state_file)

    def on_trial_add(self, tune_controller, trial):
        self._load_once()
        if trial.trial_id not in self._trial_info:
            super().on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result):
        self._load_once()
        action = super().on_trial_result(tune_controller, trial, result)
        self._save()
        return action

    def on_trial_complete(self, tune_controller, trial, result):
        self._load_once()
        if trial.trial_id in self._trial_info:
            super().on_trial_complete(tune_controller, trial, result)
        self._save()

    def on_trial_remove(self, tune_controller, trial):
        self._load_once()
        self._trial_info.pop(trial.trial_id, None)
        self._save()
