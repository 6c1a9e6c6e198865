"""Build the Ray Tune search for a space: Optuna TPE proposes, successive halving pauses and
stops (tune/engine/scheduler.py), Ray runs and saves."""

import contextlib
import os
from pathlib import Path

import optuna
import ray.tune
import torch
from ray.tune.search import ConcurrencyLimiter, Searcher, SearchGenerator

import search_spaces
from training.loop import CHECKPOINT_FILE, FINISHED_KEYS
from tune import METRIC, MODE, trial_folder_name
from tune.engine import private, rungs
from tune.engine.budget import EndWhenSpent
from tune.engine.context import Bound, RunContext
from tune.engine.progress import Progress
from tune.engine.scheduler import SuccessiveHalving
from tune.engine.searcher import StudySearch
from tune.engine.trainable import as_numpy, train_trial
from tune.results import save_atomic
from tune.settings import TrialSettings


def suggest(trial, name: str, distribution):
    """Ask an Optuna trial for one value of an Optuna distribution."""
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    return trial.suggest_float(
        name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
    )


class DefineByRun:
    """A space's params as an Optuna define-by-run function: a conditional parameter is only
    suggested when its parent took one of the listed values. A class, not a closure, because
    Ray pickles the searcher into the experiment state for resume."""

    def __init__(self, space):
        self.params = dict(space.params)
        self.conditions = dict(getattr(space, "conditions", {}))
        self.fixed = dict(getattr(space, "fixed", {}))

    def __call__(self, trial):
        chosen = {}
        for name, distribution in self.params.items():
            if name in self.conditions:
                parent, values = self.conditions[name]
                if chosen.get(parent) not in values:
                    continue
            chosen[name] = suggest(trial, name, distribution)
        return dict(self.fixed)


class DropLatestCheckpointOfFinishedTrials(ray.tune.Callback):
    """Did `drop_what_ended_trials_no_longer_need`'s work as each trial ended, before Ray had
    saved that it ended: a driver killed then resumed the trial from a checkpoint without its
    optimizer. Kept, doing nothing, so that experiments that pickled it still resume."""


def drop_what_ended_trials_no_longer_need(trials, kept: set[str]) -> None:
    """Ray keeps a trial's best checkpoint and, besides it, its latest, so that the trial can go
    on. An ended trial never goes on, so that second copy (~200 MB for the report's CNN with its
    Adam state) is waste, and so is what the best one holds to go on (Adam's two moments, the
    random generators): after the search only its weights and passes are read (tune.promote,
    its refit and cross-validation). An ended trial outside `kept` (none that promotion can
    load: experiment.keeping_checkpoints) loses its checkpoints altogether. `trials`: as Ray
    saved them when the search ended, none of them one Ray would resume after a kill."""
    for trial in trials:
        if trial.status != "TERMINATED":
            continue
        manager = trial.run_metadata.checkpoint_manager
        latest = manager.latest_checkpoint_result
        best = [result.checkpoint for result in manager.best_checkpoint_results]
        keep = best if trial.trial_id in kept else []
        # by path: a trial paused at a rung hands Ray its last checkpoint again, as another result
        held = {c.path: c for c in best + ([latest.checkpoint] if latest else [])}
        kept_paths = {c.path for c in keep}
        for path, checkpoint in held.items():
            if path not in kept_paths:
                with contextlib.suppress(FileNotFoundError):  # dropped already (an earlier run)
                    checkpoint.filesystem.delete_dir(checkpoint.path)
        for checkpoint in keep:
            if checkpoint.filesystem.type_name == "local":  # --storage elsewhere: kept whole
                keep_only_weights(Path(checkpoint.path) / CHECKPOINT_FILE)


def keep_only_weights(path: Path) -> None:
    """A finished trial's checkpoint without what it needed to go on, written aside and renamed."""
    if not path.is_file():
        return
    state = torch.load(path, weights_only=True)
    kept = {key: state[key] for key in FINISHED_KEYS if key in state}
    if len(kept) < len(state):
        save_atomic(path, lambda tmp: torch.save(kept, tmp))


class RunningLimiter(Bound, ConcurrencyLimiter):
    """Ray's ConcurrencyLimiter, counting the trials that run, not those paused at a rung
    (tune/engine/scheduler.py): a paused trial holds no CPU, so a new one may start in its place."""

    def suggest(self, trial_id: str):
        waiting = self.run.waiting if self.run else set()
        if len(self.live_trials - waiting) >= self.max_concurrent:
            return None
        suggestion = self.searcher.suggest(trial_id)
        if suggestion not in (None, Searcher.FINISHED):
            self.live_trials.add(trial_id)
            self.num_unfinished_live_trials += 1
        return suggestion

    def get_state(self) -> dict:
        state = super().get_state()
        state.pop("run", None)
        return state


class MovableSearch(Bound, SearchGenerator):
    """Ray's own wrapper of the searcher, restored into wherever the experiment is now.

    Ray saves the experiment's storage path with the searcher's state, and after `Tuner.restore`
    of a moved experiment it gives every *new* trial the old path (their first checkpoint then
    fails the storage check; measured with Ray 2.60). This puts the current place back."""

    def set_state(self, state: dict):
        super().set_state(state)
        if self.run:
            parent, name = self.run.ray_path.rstrip("/").rsplit("/", 1)
            storage = self._experiment.storage
            storage.storage_filesystem, storage.storage_fs_path = private.get_fs_and_path(parent)
            storage.experiment_dir_name = name


def optuna_searcher(space, seed: int, budget: int, run: RunContext) -> StudySearch:
    """Optuna's TPE over the space, its study in the experiment folder. The baseline goes first:
    the searcher enqueues it as trial 0, flagged (tests/test_search.py checks that it really runs,
    given ray#35319)."""
    return StudySearch(
        run=run,
        space=DefineByRun(space),
        metric=METRIC,
        mode=MODE,
        seed=seed,
        baseline=space.baseline,
        fixed=getattr(space, "fixed", {}),
        description={
            "space": space.__name__.rsplit(".", 1)[-1],
            "model": space.model,
            "budget": budget,
        },
    )


def make_trainable(settings: TrialSettings, data: dict, run: RunContext):
    """The trial function with the shared settings and the data (put in Ray's object store once)."""
    trial = ray.tune.with_parameters(
        train_trial, settings=settings, data=as_numpy(data), cache_dir=str(run.exp_dir.resolve())
    )
    return ray.tune.with_resources(trial, {"cpu": settings.cpus_per_trial})


def restore_tuner(
    run: RunContext, settings: TrialSettings, data: dict, verbose: bool
) -> ray.tune.Tuner:
    """Continue an interrupted search: finished trials stay, unfinished ones go on from their
    last checkpoint, errored ones are retried; the searcher's history comes back with it."""
    tuner = ray.tune.Tuner.restore(
        run.ray_path,
        trainable=make_trainable(settings, data, run),
        resume_unfinished=True,
        resume_errored=True,
    )
    # Ray restores the run config it pickled, verbosity included; Tuner.restore cannot set it.
    private.run_config(tuner).verbose = ray_verbosity(verbose)
    bind_run(tuner, run)
    return tuner


def bind_run(tuner: ray.tune.Tuner, run: RunContext) -> None:
    """Hand this run to the scheduler, the searcher (and its wrappers) and the callbacks, which
    Ray may have brought back from an earlier run. Ray has no public way to reach the objects
    of a restored Tuner (tune/engine/private.py)."""
    scheduler, searcher = private.scheduler_and_searcher(tuner)
    found = [scheduler, *private.run_config(tuner).callbacks]
    while searcher is not None:
        found.append(searcher)
        searcher = getattr(searcher, "searcher", None)
    for thing in found:
        if isinstance(thing, Bound):
            thing.bind(run)
    # read by Ray's controller as the Tuner's fit() starts
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", str(state_save_period(run.num_samples)))


def state_save_period(trials: int) -> int:
    """Seconds between Ray's saves of its experiment state (what --resume and the trial table
    read): every second up to 200 trials, so that a kill loses next to nothing; a second per 100
    trials past that, because each save writes the whole state, ~19 KB a trial (19 MB at 1,000
    trials). At 1,000 trials the slowest scheduler call went from 655 to 44 ms with it; the mean
    overhead per trial did not change (benchmarks/README.md, "Many trials"). Ray's own default
    adapts it to what a save costs, at least 10 s. A period set in the environment wins."""
    return max(1, trials // 100)


def ray_verbosity(verbose: bool) -> int:
    """Ray's own trial table and trial lines with --verbose; otherwise tune/engine/progress.py
    speaks."""
    return 1 if verbose else 0


def successive_halving(space, budget: int) -> SuccessiveHalving:
    return SuccessiveHalving(
        max_t=budget,
        grace_period=search_spaces.grace_period(space, budget),
        reduction_factor=rungs.REDUCTION_FACTOR,
    )


def make_tuner(
    space,
    settings: TrialSettings,
    data: dict,
    run: RunContext,
    seed: int,
    verbose: bool = False,
    epoch_scheduler=None,
) -> ray.tune.Tuner:
    """run: this run of the search (where its experiment is, its budget); bound to everything
    Ray will pickle with the experiment. epoch_scheduler: tune.run.main's."""
    # What Tune builds from max_concurrent_trials (SearchGenerator(ConcurrencyLimiter(searcher))),
    # built here because the generator is our MovableSearch and the limiter ours.
    searcher = MovableSearch(
        RunningLimiter(
            optuna_searcher(space, seed, settings.budget, run), max_concurrent=run.at_once
        )
    )
    ray_path, num_samples = run.ray_path, run.num_samples
    tuner = ray.tune.Tuner(
        make_trainable(settings, data, run),
        tune_config=ray.tune.TuneConfig(
            metric=METRIC,
            mode=MODE,
            search_alg=searcher,
            scheduler=(epoch_scheduler or successive_halving)(space, settings.budget),
            num_samples=num_samples,
            reuse_actors=True,
            trial_dirname_creator=trial_folder_name,
        ),
        run_config=ray.tune.RunConfig(
            name=ray_path.rstrip("/").rsplit("/", 1)[1],
            storage_path=ray_path.rstrip("/").rsplit("/", 1)[0],
            verbose=ray_verbosity(verbose),
            callbacks=[EndWhenSpent(), Progress()],
            checkpoint_config=ray.tune.CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute=METRIC, checkpoint_score_order=MODE
            ),
            failure_config=ray.tune.FailureConfig(max_failures=1),
        ),
    )
    bind_run(tuner, run)
    return tuner
