"""Ray's OptunaSearch with its study in the experiment folder (tune/study.py), for optuna-dashboard.

`StudySearch` keeps the study in the experiment folder instead of in memory, so that a dashboard
can read it while the search runs, and labels each Optuna trial with what Ray knows: its trial
id, whether it is the report's baseline, and how it ended. Ray tells Optuna that a trial the
scheduler stopped is COMPLETE with its partial value; here it is PRUNED, which is what Optuna calls
a trial stopped early (Optuna then takes its last validation loss as its value).

The study is pickled with Ray's experiment state as trial ids only, never as a storage: on resume
it is reopened in the experiment folder where it is *now* (the run bound to it,
tune/engine/context.py), so a moved or copied experiment writes its own study and not the one it was
copied from.
"""

import pickle
import warnings

import optuna
from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch

from tune import BASELINE_FLAG, METRIC, ended_status, passes_of
from tune.engine import private
from tune.engine.context import Bound, RunContext
from tune.study import storage


class StudySearch(Bound, OptunaSearch):
    def __init__(
        self,
        *,
        run: RunContext,
        baseline: dict,
        description: dict,
        fixed: dict | None = None,
        **kwargs,
    ):
        self.run, self.baseline, self.description = run, baseline, description
        # the baseline's own values of settings `fixed` sets for every other trial (the pretrained
        # space fixes a frozen backbone; the report's recipe fine-tunes every layer)
        self.baseline_own = {k: v for k, v in baseline.items() if k in (fixed or {})}
        self._unopened = None
        super().__init__(storage=storage(run.exp_dir), study_name=run.exp_dir.name, **kwargs)

    def bind(self, run: RunContext):
        """This run's experiment folder; a searcher Ray brought back opens its study there."""
        self.run = run
        if self._unopened is not None:
            self._reopen(self._unopened)
        return self

    def _setup_study(self, mode):
        super()._setup_study(mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._ot_study.set_metric_names([METRIC])  # the dashboard's axis label
        for key, value in self.description.items():
            self._ot_study.set_user_attr(key, value)
        if not self._ot_study.get_trials(deepcopy=False):  # a new study: the baseline first
            self._ot_study.enqueue_trial(self.baseline, user_attrs={BASELINE_FLAG: True})

    def suggest(self, trial_id: str):
        config = super().suggest(trial_id)
        if not isinstance(config, dict):  # None (wait) or FINISHED
            return config
        trial = self._ot_trials[trial_id]
        baseline = bool(trial.user_attrs.get(BASELINE_FLAG))  # set when it was enqueued
        if baseline:
            config = {**config, **getattr(self, "baseline_own", {})}
        trial.set_user_attr("ray_trial_id", trial_id)
        trial.set_user_attr(BASELINE_FLAG, baseline)
        return {**config, BASELINE_FLAG: baseline}

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
        passes = passes_of(result or {})
        reported = trial.storage.get_trial(private.storage_id(trial)).intermediate_values
        how = (
            "errored"
            if error
            else "completed"
            if result and ended_status(result, self.run.budget, self.run.budget_unit) == "COMPLETED"
            else "stopped early by the scheduler"
            if result or reported
            else "stopped before its first epoch"
        )
        step = (result or {}).get("training_iteration")
        # Ray may give the last result only here
        if result and METRIC in result and step not in reported:
            trial.report(result[METRIC], step)
            reported = {**reported, result["training_iteration"]: result[METRIC]}
        trial.set_user_attr("ended", how)
        trial.set_user_attr("passes", passes or max(reported, default=0))
        if how == "completed":
            return super().on_trial_complete(trial_id, result, error)
        self._ot_study.tell(trial, state=TrialState.FAIL if error else TrialState.PRUNED)
        self._completed_trials.add(trial_id)

    def _picklable(self) -> dict:
        state = self.__dict__.copy()
        state["_study_sampler"] = self._ot_study.sampler if self._ot_study else None
        state["_storage"] = state["_ot_study"] = state["_unopened"] = None
        state.pop("run", None)
        state["_ot_trials"] = {
            ray_id: private.storage_id(t) for ray_id, t in self._ot_trials.items()
        }
        return state

    def __getstate__(self):  # Ray also pickles the searcher into tuner.pkl
        return self._picklable()

    def __setstate__(self, state: dict):
        self.run = None
        self._reopen(state)

    def save(self, checkpoint_path: str):
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self._picklable(), file)

    def restore(self, checkpoint_path: str):
        with open(checkpoint_path, "rb") as file:
            self._reopen(pickle.load(file))
        self._fail_lost_trials()

    def _reopen(self, state: dict) -> None:
        """Back from a pickle: reopen the study in this run's experiment folder, or, before a run
        is bound (Ray unpickling tuner.pkl), keep the state until `bind`."""
        state = {k: v for k, v in state.items() if k != "run"}
        trial_ids, sampler = state["_ot_trials"], state["_study_sampler"]
        self.__dict__.update(
            {k: v for k, v in state.items() if k not in ("_ot_trials", "_study_sampler")}
        )
        self._ot_trials, self._unopened = {}, None
        if sampler is None:
            return  # pickled before its study was set up: nothing to reopen
        if self.run is None:
            self._unopened = state
            return
        self._storage = storage(self.run.exp_dir)
        self._ot_study = optuna.load_study(study_name=None, storage=self._storage, sampler=sampler)
        self._ot_trials = {
            ray_id: private.optuna_trial(self._ot_study, db_id)
            for ray_id, db_id in trial_ids.items()
        }

    def _fail_lost_trials(self) -> None:
        """A trial the study began after Ray last saved its state (a kill -9 in that second) is
        begun again by Ray under a new Optuna trial: the lost one is marked as such."""
        known = {private.storage_id(trial) for trial in self._ot_trials.values()}
        for lost in self._ot_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if private.storage_id(lost) not in known:
                self._storage.set_trial_user_attr(
                    private.storage_id(lost),
                    "ended",
                    "lost: the search was killed before "
                    "Ray saved it; Ray ran its config again as a new trial",
                )
                self._ot_study.tell(lost.number, state=TrialState.FAIL)


def ended(trial: optuna.Trial) -> bool:
    return trial.storage.get_trial(private.storage_id(trial)).state.is_finished()
