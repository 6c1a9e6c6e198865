"""The search engine: the only package that imports Ray.

Commands: `python -m tune.run` starts a search.

Trials are judged by validation loss, not accuracy: with 180 validation images accuracy moves
in 0.56-point steps and ties often, while the loss is continuous and also punishes confident
mistakes, the overfitting the seed report kept fighting. The scheduler, the searcher, the checkpoints
Ray keeps and the "best trial" all use it.
"""
METRIC, MODE = "val_loss", "min"


def is_baseline(config: dict, baseline: dict) -> bool:
    """Whether a trial's config is the seed report's hand-tuned one (trial 0 of every search)."""
    return all(config.get(k) == v for k, v in baseline.items())
