"""The seed report's ImageNet-pretrained ResNet18, fine-tuned on data set 1 (smoker_detection).

Needs the ImageNet weights file offline: see `--weights-file` in `python -m tune.run --help`.
"""

from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

from search_spaces import _fine_tuning as fine_tuning

dataset = "smoker_detection"
model = "resnet18"
image_size = 224
num_samples = 20
max_passes = 10

params = {
    "lr": Float(1e-4, 1e-2, log=True),
    "use_weight_decay": Choice([False, True]),
    "weight_decay": Float(1e-6, 1e-3, log=True),
    "dropout": Float(0.0, 0.7),
    "rotation": Float(0.0, 30.0),
    "offline_rotations": Choice([False, True]),
    "batch_size": Choice([32, 54, 64]),
    **fine_tuning.params,  # the recipe the report did not try (search_spaces/_fine_tuning.py)
}
conditions = {
    "weight_decay": ("use_weight_decay", [True]),
}
fixed = {"weights": "imagenet"}

# Part 2: same set-up as the CNN (Adam lr 1e-3, weight decay 1e-4, batch 32), ImageNet
# normalisation, RandomRotation(10); the rotated copies "changed little", so off.
baseline = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout": 0.0,
    "rotation": 10.0,
    "offline_rotations": False,
    "batch_size": 32,
    **fine_tuning.off,
}
