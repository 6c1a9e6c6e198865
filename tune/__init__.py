"""The commands a user types, and the experiment's files they share.

`python -m tune.run` starts or resumes a search on the Ray engine (`tune/engine/`, the only code
that starts Ray). The commands after a search act on its folder or on a model file and never
start Ray (they read its saved results with Ray's `ExperimentAnalysis`, tune/experiment.py):
`tune.trials`, `tune.promote`, `tune.evaluate`, `tune.predict`, `tune.export` (ONNX),
`tune.report`, `tune.dashboard`; promotion is a package of its steps (`tune/promote/`). Their
shared files: `settings` (what a search is, as experiment.json records it), `experiment` (the
experiment folder opened once, its trial table), `trial_inputs` (what a trial trains on),
`results` (summaries, atomic writes), `study` (the Optuna study), `model_file`, `lock`, `disk`.

Trials are judged by validation loss, not accuracy: with 180 validation images accuracy moves
in 0.56-point steps and ties often, while the loss is continuous and also punishes confident
mistakes, the overfitting the seed report kept fighting. The scheduler, the searcher, the
checkpoints Ray keeps and the "best trial" all use it.
"""

METRIC, MODE = "val_loss", "min"


BASELINE_FLAG = "baseline"  # in a trial's config: True for the report's baseline, else False


def is_baseline(config: dict, baseline: dict | None = None) -> bool:
    """Whether a trial is the seed report's hand-tuned one (trial 0 of every search): the flag the
    searcher sets when it enqueues it (tune/engine/searcher.py), so a later draw of the same
    values is not a second baseline. A trial of an experiment from before the flag has none: it
    is the baseline if its config holds the baseline's values."""
    if BASELINE_FLAG in config:
        return bool(config[BASELINE_FLAG])
    return baseline is not None and all(config.get(k) == v for k, v in baseline.items())


def passes_of(result) -> int:
    """Passes over the training split a result comes after (`epoch` in results written before
    trials reported passes, when a pass was an epoch)."""
    return int(result.get("passes", result.get("epoch", 0)) or 0)


def passes_column(history):
    """passes_of for every result of a trial's history (a DataFrame): its x axis in curves."""
    return history["passes"] if "passes" in history else history["epoch"]


def ended_status(result, budget: int, unit: str = "passes") -> str:
    """What a TERMINATED trial is to a person, from its last result: Ray ends a trial that trained
    its whole budget and one that the scheduler stopped early the same way, and nothing else ends
    a trial early here. The budget is in passes (successive halving) or, under the old ASHA
    (benchmarks/old_asha.py), in epochs: an epoch of the report's offline rotations is 3 passes."""
    done = passes_of(result) if unit == "passes" else float(result.get("epoch", 0) or 0)
    return "COMPLETED" if done >= budget else "STOPPED"


def trial_folder_name(trial) -> str:
    """A trial's folder: its id, short, and what the trial table shows. Here, not in the engine:
    Ray pickles it into every trial's saved state, and whatever reads that state back (the
    trial table) imports its module; tune.engine.search imports torch and the models (13 s of a
    16 s `tune.trials` at 1,000 trials). Experiments from before name tune.engine.search's, which
    is this one."""
    return trial.trial_id
