"""The seed report's ImageNet-pretrained ResNet18 on data set 2 (smoker_detection_augmented): the harder, already augmented set.

Here it is derived from data set 1 by `python -m data_utils.augment` (see the README); a user
with the report's real second data set names that folder `smoker_detection_augmented` instead.

Needs the ImageNet weights file offline: see `--weights-file` in `python -m tune.run --help`.
"""
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "smoker_detection_augmented"
model = "resnet18"
image_size = 224
num_samples = 20
max_epochs = 10

params = {
    "lr": Float(1e-4, 1e-2, log=True),
    "use_weight_decay": Choice([False, True]),
    "weight_decay": Float(1e-6, 1e-3, log=True),
    "dropout": Float(0.0, 0.7),
    "rotation": Float(0.0, 30.0),
    "offline_rotations": Choice([False, True]),
    "batch_size": Choice([32, 54, 64]),
}
conditions = {
    "weight_decay": ("use_weight_decay", [True]),
}
fixed = {"weights": "imagenet"}

# The report's best ResNet18 on data set 2: ImageNet normalisation, RandomRotation(10), batch 64
# (63.3% test, "batch size mattered most"); Adam lr 1e-3 and weight decay 1e-4 as in part 1.
baseline = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout": 0.0,
    "rotation": 10.0,
    "offline_rotations": False,
    "batch_size": 64,
}
