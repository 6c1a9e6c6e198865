"""The seed report's custom CNN on data set 2 (smoker_detection_augmented): the harder, \
already augmented set.

The same search as cnn_dataset1, on another data set. Here data set 2 is derived from data set 1
by `python -m data_utils.augment` (see the README); a user with the report's real second data set
names that folder `smoker_detection_augmented` instead.
"""

from search_spaces.cnn_dataset1 import (
    conditions,  # noqa: F401
    fixed,  # noqa: F401
    image_size,  # noqa: F401
    max_passes,  # noqa: F401
    model,  # noqa: F401
    num_samples,  # noqa: F401
    params,  # noqa: F401
)

dataset = "smoker_detection_augmented"

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
    "lr_schedule": "constant",
    "warmup_epochs": 0,
    "hflip": False,
    "color_jitter": 0.0,
}
