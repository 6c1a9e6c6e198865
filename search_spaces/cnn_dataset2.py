"""The seed report's custom CNN on data set 2 (smoker_detection_augmented): the harder, already augmented set.

Here it is derived from data set 1 by `python -m data_utils.augment` (see the README); a user
with the report's real second data set names that folder `smoker_detection_augmented` instead.
"""
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "smoker_detection_augmented"
model = "seed_cnn"
image_size = 256
num_samples = 20
max_epochs = 10

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
}
conditions = {
    "weight_decay": ("use_weight_decay", [True]),
    "dropout_before_fc1": ("dropout_placement", ["before_fc1", "both"]),
    "dropout_after_fc1": ("dropout_placement", ["after_fc1", "both"]),
}
fixed = {}

# The report's data-set-2 run of the CNN with the best part-1 settings: dropout 0.6 after the
# conv stack and 0.4 after fc1, weight decay 1e-4, RandomRotation(10), batch 32; the data set
# was already augmented, so no extra rotated copies.
baseline = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout_placement": "both",
    "dropout_before_fc1": 0.6,
    "dropout_after_fc1": 0.4,
    "rotation": 10.0,
    "offline_rotations": False,
    "batch_size": 32,
}
