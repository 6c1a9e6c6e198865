"""The fine-tuning recipe the report never tried, shared by the pretrained spaces: a slower
backbone than head, warm-up and cosine decay, label smoothing, and the usual augmentations.
Not a space itself (its name starts with '_'); a space adds `params` to its own and `off` to its
baseline, which keeps the report's recipe as trial 0."""
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

params = {
    "backbone_lr_ratio": Float(0.01, 1.0, log=True),
    "lr_schedule": Choice(["constant", "cosine"]),
    "warmup_epochs": Choice([0, 1, 2]),
    "label_smoothing": Float(0.0, 0.2),
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
