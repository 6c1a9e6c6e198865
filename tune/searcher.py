"""Ray's OptunaSearch with its study in the experiment folder (tune/study.py), for optuna-dashboard.

`StudySearch` keeps the study in results/EXP/optuna.db instead of in memory, so that a dashboard
can read it while the search runs, and labels each Optuna trial with what Ray knows: its trial
id, whether it is the report's baseline, and how it ended. Ray tells Optuna that a trial ASHA
stopped is COMPLETE with its partial value; here it is PRUNED, which is what Optuna calls a trial
stopped early (Optuna then takes its last validation loss as its value).

The study is pickled with Ray's experiment state as trial ids only, never as a storage: on resume
it is reopened in the experiment folder where it is *now*, so a moved or copied experiment writes
its own study and not the one it was copied from.
"""
import pickle
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch

from tune import METRIC, is_baseline
from tune.study import storage

_exp_dir: Path | None = None  # the experiment this run's searcher writes to: set by the driver


def keep_in(exp_dir: Path) -> None:
    global _exp_dir
    _exp_dir = Path(exp_dir)


class StudySearch(OptunaSearch):
    def __init__(self, *, baseline: dict, max_epochs: int, description: dict, **kwargs):
        self.baseline, self.max_epochs, self.description = baseline, max_epochs, description
        super().__init__(storage=storage(_exp_dir), study_name=_exp_dir.name, **kwargs)

    def _setup_study(self, mode):
        super()._setup_study(mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._ot_study.set_metric_names([METRIC])  # the dashboard's axis label
        for key, value in self.description.items():
            self._ot_study.set_user_attr(key, value)

    def suggest(self, trial_id: str):
        config = super().suggest(trial_id)
        trial = self._ot_trials[trial_id]
        trial.set_user_attr("ray_trial_id", trial_id)
        trial.set_user_attr("baseline", is_baseline(config, self.baseline))
        return config

    def on_trial_result(self, trial_id: str, result: dict):
        try:
            super().on_trial_result(trial_id, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # a trial re-run after a crash that lost Ray's record of its end: the study has it

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        trial = self._ot_trials.get(trial_id)
        if trial is None or trial_id in self._completed_trials or ended(trial):
            self._completed_trials.add(trial_id)
            return
        epochs = int((result or {}).get("epoch", 0))
        how = ("errored" if error else "stopped before its first epoch" if not result else
               "completed" if epochs >= self.max_epochs else "stopped early by ASHA")
        if result and METRIC in result:  # Ray gives a trial's last result here, not to on_trial_result
            trial.report(result[METRIC], result["training_iteration"])
        trial.set_user_attr("ended", how)
        trial.set_user_attr("epochs", epochs)
        if how == "completed":
            return super().on_trial_complete(trial_id, result, error)
        self._ot_study.tell(trial, state=TrialState.FAIL if error else TrialState.PRUNED)
        self._completed_trials.add(trial_id)

    def _picklable(self) -> dict:
        state = self.__dict__.copy()
        state["_study_sampler"] = self._ot_study.sampler if self._ot_study else None
        state["_storage"] = state["_ot_study"] = None
        state["_ot_trials"] = {ray_id: t._trial_id for ray_id, t in self._ot_trials.items()}
        return state

    def __getstate__(self):  # Ray also pickles the searcher into tuner.pkl
        return self._picklable()

    def __setstate__(self, state: dict):
        self._reopen(state)

    def save(self, checkpoint_path: str):
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self._picklable(), file)

    def restore(self, checkpoint_path: str):
        with open(checkpoint_path, "rb") as file:
            self._reopen(pickle.load(file))
        self._fail_lost_trials()

    def _reopen(self, state: dict) -> None:
        state = dict(state)
        trial_ids, sampler = state.pop("_ot_trials"), state.pop("_study_sampler")
        self.__dict__.update(state)
        self._ot_trials = {}
        if _exp_dir is None or sampler is None:
            return  # unpickled outside a run (nothing to write to)
        self._storage = storage(_exp_dir)
        self._ot_study = optuna.load_study(study_name=None, storage=self._storage, sampler=sampler)
        self._ot_trials = {ray_id: optuna.Trial(self._ot_study, db_id) for ray_id, db_id in trial_ids.items()}

    def _fail_lost_trials(self) -> None:
        """A trial the study began after Ray last saved its state (a kill -9 in that second) is
        begun again by Ray under a new Optuna trial: the lost one is marked as such."""
        known = {trial._trial_id for trial in self._ot_trials.values()}
        for lost in self._ot_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if lost._trial_id not in known:
                self._storage.set_trial_user_attr(lost._trial_id, "ended", "lost: the search was killed before "
                                                  "Ray saved it; Ray ran its config again as a new trial")
                self._ot_study.tell(lost.number, state=TrialState.FAIL)


def ended(trial: optuna.Trial) -> bool:
    return trial.storage.get_trial(trial._trial_id).state.is_finished()
