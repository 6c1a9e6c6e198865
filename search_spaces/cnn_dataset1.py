"""The seed report's custom CNN on data set 1 (smoker_detection): everything it tuned by hand."""

from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "smoker_detection"
model = "seed_cnn"
image_size = 256
num_samples = 20
max_passes = 10

params = {
    "lr": Float(1e-4, 1e-2, log=True),
    "use_weight_decay": Choice([False, True]),
    "weight_decay": Float(1e-6, 1e-3, log=True),
    "dropout_placement": Choice(["none", "before_fc1", "after_fc1", "both"]),
    "dropout_before_fc1": Float(0.0, 0.7),
    "dropout_after_fc1": Float(0.0, 0.7),
    "rotation": Float(0.0, 30.0),
    "offline_rotations": Choice([False, True]),
    "batch_size": Choice([32, 54, 64]),
    # levers the report did not try (its config below has them off)
    "lr_schedule": Choice(["constant", "cosine"]),
    "warmup_epochs": Choice([0, 1]),
    "hflip": Choice([False, True]),
    "color_jitter": Float(0.0, 0.4),
}
conditions = {
    "weight_decay": ("use_weight_decay", [True]),
    "dropout_before_fc1": ("dropout_placement", ["before_fc1", "both"]),
    "dropout_after_fc1": ("dropout_placement", ["after_fc1", "both"]),
}
fixed = {}

# Part 1's final settings: dropout 0.6 after the conv stack, extra 0.4 after fc1, lr 1e-3,
# weight decay 1e-4, RandomRotation(10) every epoch, the +10/+20 degree copies, batch 32.
baseline = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout_placement": "both",
    "dropout_before_fc1": 0.6,
    "dropout_after_fc1": 0.4,
    "rotation": 10.0,
    "offline_rotations": True,
    "batch_size": 32,
    "lr_schedule": "constant",
    "warmup_epochs": 0,
    "hflip": False,
    "color_jitter": 0.0,
}
