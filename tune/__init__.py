"""The commands a user types, and the experiment's files they share.

`python -m tune.run` starts or resumes a search on the Ray engine (`tune/engine/`, the only code
that starts Ray). The commands after a search act on its folder or on a model file and never
start Ray (they read its saved results with Ray's `ExperimentAnalysis`, tune/experiment.py):
`tune.trials`, `tune.promote`, `tune.evaluate`, `tune.predict`, `tune.export` (ONNX),
`tune.report`, `tune.dashboard`. Their shared files: `experiment` (the experiment folder, its
trial table), `results` (summaries, atomic writes), `study` (the Optuna study), `model_file`,
`lock`, `disk`; and promotion's `probe` (the probe a pretrained search is compared with) and
`refit`.

Trials are judged by validation loss, not accuracy: with 180 validation images accuracy moves
in 0.56-point steps and ties often, while the loss is continuous and also punishes confident
mistakes, the overfitting the seed report kept fighting. The scheduler, the searcher, the
checkpoints Ray keeps and the "best trial" all use it.
"""

METRIC, MODE = "val_loss", "min"


def is_baseline(config: dict, baseline: dict) -> bool:
    """Whether a trial's config is the seed report's hand-tuned one (trial 0 of every search)."""
    return all(config.get(k) == v for k, v in baseline.items())
