"""The report's CNN in a small real search, for tests and the README demo: 3 trials, 144 photos.

24 real photos per class and split, resized to 64x64; at most 2 passes per trial. Its numbers
mean little; that it runs end to end means a lot."""

from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "smoker_detection"
model = "seed_cnn"
image_size = 64
subset_per_class = 24
num_samples = 3
max_passes = 2

params = {
    "lr": Float(1e-4, 1e-2, log=True),
    "dropout_placement": Choice(["none", "before_fc1", "after_fc1", "both"]),
    "dropout_before_fc1": Float(0.0, 0.7),
    "dropout_after_fc1": Float(0.0, 0.7),
    "rotation": Float(0.0, 30.0),
    "batch_size": Choice([8, 16]),
    "lr_schedule": Choice(["constant", "cosine"]),
    "hflip": Choice([False, True]),
}
conditions = {
    "dropout_before_fc1": ("dropout_placement", ["before_fc1", "both"]),
    "dropout_after_fc1": ("dropout_placement", ["after_fc1", "both"]),
}
fixed = {"offline_rotations": False}

baseline = {
    "lr": 1e-3,
    "dropout_placement": "both",
    "dropout_before_fc1": 0.6,
    "dropout_after_fc1": 0.4,
    "rotation": 10.0,
    "batch_size": 16,
    "lr_schedule": "constant",
    "hflip": False,
}
