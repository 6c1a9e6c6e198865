"""Every private name of Ray or Optuna the project relies on, where there is no public way, and
where it is used. The searches in the other tests exercise what each does; this fails by name, in
a second, when an upgrade of the pinned versions (pyproject.toml) moves or reshapes one."""

import inspect

import optuna
import pytest
from ray.train._internal import storage
from ray.tune import Tuner
from ray.tune.execution.tune_controller import TuneController
from ray.tune.impl.tuner_internal import TunerInternal
from ray.tune.search import SearchGenerator
from ray.tune.search.optuna import OptunaSearch


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_ray_storage_internals_of_write_guard_and_movable_search():
    # tune/engine/write_guard.py replaces the syncer's upload with one that writes whole files
    assert parameters(storage._FilesystemSyncer._sync_up_command) == [
        "self",
        "local_path",
        "uri",
        "exclude",
    ]
    assert parameters(storage._upload_to_fs_path)[:3] == ["local_path", "fs", "fs_path"]
    # tune/engine/search.py MovableSearch: the storage of a moved experiment
    assert parameters(storage.get_fs_and_path)[0] == "storage_path"
    assert "self._experiment" in inspect.getsource(SearchGenerator)


def test_ray_controller_and_restored_tuner_internals():
    # tune/engine/scheduler.py stop_paused: a stopped paused trial is saved in the experiment state
    assert parameters(TuneController._mark_trial_to_checkpoint) == ["self", "trial"]
    # tune/engine/search.py bind_run and restore_tuner, write_guard.guard: a restored Tuner's parts
    source = inspect.getsource(TunerInternal)
    assert "self._tune_config" in source and hasattr(TunerInternal, "get_run_config")
    assert "_local_tuner" in inspect.getsource(Tuner)


@pytest.mark.parametrize(
    "name", ["self._ot_study", "self._ot_trials", "self._completed_trials", "self._storage"]
)
def test_optuna_search_internals_of_study_search(name):
    # tune/engine/searcher.py StudySearch reopens Ray's OptunaSearch on the experiment's study
    assert name in inspect.getsource(OptunaSearch)
    assert parameters(OptunaSearch._setup_study) == ["self", "mode"]


def test_optuna_internals_of_the_study_notes():
    # tune/study.py and tune/engine/searcher.py: a trial's storage id, and notes on an ended trial
    assert "self._trial_id" in inspect.getsource(optuna.Trial.__init__)
    assert parameters(optuna.storages.BaseStorage.set_trial_user_attr) == [
        "self",
        "trial_id",
        "key",
        "value",
    ]
