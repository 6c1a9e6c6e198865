"""The seed report's ImageNet-pretrained ResNet18, fine-tuned on data set 1 (smoker_detection).

Needs the ImageNet weights file offline: see `--weights-file` in `python -m tune.run --help`.
"""
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "smoker_detection"
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
    # the fine-tuning recipe the report did not try (its config below has it off): a slower
    # backbone than head, warm-up and cosine decay, label smoothing, and the usual augmentations
    "backbone_lr_ratio": Float(0.01, 1.0, log=True),
    "lr_schedule": Choice(["constant", "cosine"]),
    "warmup_epochs": Choice([0, 1, 2]),
    "label_smoothing": Float(0.0, 0.2),
    "hflip": Choice([False, True]),
    "color_jitter": Float(0.0, 0.4),
    "crop_scale": Float(0.5, 1.0),
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
    "backbone_lr_ratio": 1.0,
    "lr_schedule": "constant",
    "warmup_epochs": 0,
    "label_smoothing": 0.0,
    "hflip": False,
    "color_jitter": 0.0,
    "crop_scale": 1.0,
}
