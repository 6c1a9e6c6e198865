"""The fine-tuning recipe the report never tried, shared by the pretrained spaces: a slower
backbone than head, warm-up and cosine decay, label smoothing, and the usual augmentations.
Not a space itself (its name starts with '_'); a space adds `params` to its own and `off` to its
baseline, which keeps the report's recipe as trial 0."""

from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

params = {
    "backbone_lr_ratio": Float(0.01, 1.0, log=True),
    "lr_schedule": Choice(["constant", "cosine"]),
    # The scheduler judges every trial after its first pass(es): a longer warm-up would be
    # judged unwarmed
    "warmup_epochs": Choice([0, 1]),
    # at most 0.1: smoothed targets keep a model's validation loss (what every choice here is made
    # on) above that of an equally accurate unsmoothed one, by ~0.05 at 0.1 but ~0.1 at 0.2
    "label_smoothing": Float(0.0, 0.1),
    "hflip": Choice([False, True]),
    "color_jitter": Float(0.0, 0.4),
    "crop_scale": Float(0.5, 1.0),
}
off = {
    "backbone_lr_ratio": 1.0,
    "lr_schedule": "constant",
    "warmup_epochs": 0,
    "label_smoothing": 0.0,
    "hflip": False,
    "color_jitter": 0.0,
    "crop_scale": 1.0,
}
