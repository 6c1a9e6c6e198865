"""Every private name of Ray (2.60) and Optuna (5.0) this project uses, in one place, each with
why no public way serves. Code elsewhere reaches them only through the functions below; the
private attributes of a Ray or Optuna class that one of ours subclasses are used as that class's
own and listed in INHERITED. tests/test_private_apis.py checks every entry against the installed
versions, and that no other module reaches for a private name not listed here.
"""

import optuna
from ray.train._internal import storage as _ray_storage

# Ray's storage: how it copies its experiment state (tune/engine/write_guard.py writes whole
# files instead of copying over the old one in place) and how it opens a storage path (a moved
# experiment's, tune/engine/search.py). Ray has no public hook for either.
FilesystemSyncer = _ray_storage._FilesystemSyncer
upload_to_fs_path = _ray_storage._upload_to_fs_path
get_fs_and_path = _ray_storage.get_fs_and_path


def replace_sync_up(command) -> None:
    """Ray's syncer builds each copy of its state with `_sync_up_command`; ours copies aside and
    renames (one syncer class per process)."""
    FilesystemSyncer._sync_up_command = command


def loopback_node_ip() -> None:
    """The switch tune/engine/cluster.py sets in the environment is read once, when Ray is
    imported: a program that imported Ray before (a notebook, a benchmark, a test) would start a
    Ray listening on every interface. Ray has no public setting for the node's IP of its servers
    (ray.init's `_node_ip_address` moves the IP, not where they listen)."""
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


def run_config(tuner):
    """A Tuner's run config, also of a restored one: Tuner.restore cannot set its verbosity or
    add a callback, and the Tuner has no public getter."""
    return tuner._local_tuner.get_run_config()


def scheduler_and_searcher(tuner) -> tuple:
    """A restored Tuner's scheduler and searcher, which need this run bound to them."""
    config = tuner._local_tuner._tune_config
    return config.scheduler, config.search_alg


def mark_trial_to_checkpoint(tune_controller, trial) -> None:
    """Ray's stop_trial on a paused trial (no actor) sets it TERMINATED but never marks it for
    the experiment state, where it would stay PAUSED (tune/engine/scheduler.py)."""
    tune_controller._mark_trial_to_checkpoint(trial)


def storage_id(trial) -> int:
    """An Optuna trial's id in its storage (not its number): RDBStorage's methods take it."""
    return trial._trial_id


def optuna_trial(study: optuna.Study, trial_id: int) -> optuna.Trial:
    """A running Optuna trial again, by its storage id: what OptunaSearch keeps per Ray trial,
    rebuilt when a searcher is unpickled (its pickle holds ids, not storages)."""
    return optuna.Trial(study, trial_id)


# (module, class, attribute, why): private attributes of a class one of ours subclasses, which
# our subclass reads or sets as its own.
INHERITED = [
    (
        "ray.tune.search.optuna",
        "OptunaSearch",
        name,
        "tune/engine/searcher.py StudySearch reopens Ray's OptunaSearch on the experiment's study",
    )
    for name in ("_ot_study", "_ot_trials", "_completed_trials", "_storage", "_setup_study")
] + [
    (
        "ray.tune.search",
        "SearchGenerator",
        "_experiment",
        "tune/engine/search.py MovableSearch: the storage of a moved experiment",
    ),
    (
        "ray.tune.search",
        "ConcurrencyLimiter",
        "live_trials",
        "tune/engine/search.py RunningLimiter: trials paused at a rung do not count as running",
    ),
    (
        "ray.tune.search",
        "ConcurrencyLimiter",
        "num_unfinished_live_trials",
        "tune/engine/search.py RunningLimiter, as Ray's own suggest keeps it",
    ),
    (
        "ray.tune.schedulers",
        "ASHAScheduler",
        "_time_attr",
        "benchmarks/old_asha.py SearchSpaceASHA: the epoch a stopped baseline reached",
    ),
    ("ray.tune.schedulers", "ASHAScheduler", "_max_t", "SearchSpaceASHA: the budget"),
    ("ray.tune.schedulers", "FIFOScheduler", "_metric", "SuccessiveHalving: the project's metric"),
    (
        "ray.tune.experiment",
        "Trial",
        "run_metadata",
        "a trial's checkpoint manager and error file (tune/engine/search.py, tune/experiment.py)",
    ),
]
