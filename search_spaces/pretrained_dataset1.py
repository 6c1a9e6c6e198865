"""The backbone searched too: EfficientNet-Lite0, -Lite1 or -Lite2 (ImageNet, offline), with its
head alone or its last stage too trained on activations computed once, on data set 1.

Each trial builds the network its `model` drew, at that network's input size (Lite0 224, Lite1
320, Lite2 260: see `image_size`), and trains only its head (`unfrozen_stages` 0) or its last
stage and head (1), on the cached output of the frozen rest (training/features.py): six views of
every training photo (rotated -10, 0, +10 degrees, mirrored or not), built by the first trial
that draws the backbone. By 5-fold cross-validation over train + val (benchmarks/README.md, "How
much of the backbone to train"), the last stage trained beat the head alone on every backbone;
two stages did not beat one (log loss 0.316 vs 0.317 on Lite0, 0.248 vs 0.231 on Lite1) at
twice the cost a pass; and the whole network (Lite0, one fold: 0.319) cost 9x one stage's pass.
So full fine-tuning (a Lite1 pass at 320 px: 263 s on one thread) is the baseline's alone.
"""

from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

from search_spaces import _fine_tuning as fine_tuning

dataset = "smoker_detection"
model = "efficientnet_lite0"  # the baseline's; every other trial draws its own from params["model"]
num_samples = 30
# Lite1 sees larger photos than its native 240: a cigarette is a few pixels. A linear probe on its
# frozen features (benchmarks/input_size.py, validation) lost 0.204 at 240, 0.195 at 280, 0.156
# at 320, 0.143 at 360. Lite0 and Lite2 gained little at larger sizes: they keep their own.
image_size = {"efficientnet_lite1": 320}
max_passes = 10
# The scheduler first compares trials after 2 passes, not 1: the baseline (a whole network at the
# report's rate) trails after one pass and catches up after that
grace_period = 2

params = {
    "model": Choice(["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]),
    "unfrozen_stages": Choice([0, 1]),
    "lr": Float(1e-4, 1e-2, log=True),
    "use_weight_decay": Choice([False, True]),
    "weight_decay": Float(1e-6, 1e-3, log=True),
    "dropout": Float(0.0, 0.7),
    # the cached views are 10 degrees apart: a trial's draws within +-rotation take the nearest
    "rotation": Float(0.0, 20.0),
    "batch_size": Choice([32, 54, 64]),
    # the stage that trains, at this share of the head's rate
    "backbone_lr_ratio": fine_tuning.params["backbone_lr_ratio"],
    "lr_schedule": fine_tuning.params["lr_schedule"],
    "warmup_epochs": fine_tuning.params["warmup_epochs"],
    "label_smoothing": fine_tuning.params["label_smoothing"],
    "hflip": fine_tuning.params["hflip"],  # the mirrored views
}
conditions = {"weight_decay": ("use_weight_decay", [True])}
# A frozen backbone (but for its last `unfrozen_stages`) for every trial but the baseline, which
# keeps its own (the searcher gives the baseline its own value of a fixed setting). Colour jitter
# and random crops cannot apply to cached views; the report's offline rotated copies "changed
# little" and triple an epoch.
fixed = {
    "weights": "imagenet",
    "offline_rotations": False,
    "freeze_backbone": True,
    "color_jitter": 0.0,
    "crop_scale": 1.0,
}

# As in effnet_dataset1: the recipe the report used for its pretrained ResNet18, on Lite0
# (fine-tune every layer, Adam lr 1e-3, weight decay 1e-4, RandomRotation(10), batch 32).
# `unfrozen_stages` means nothing for a backbone that is not frozen: 0 is only its place in the
# space.
baseline = {
    "model": "efficientnet_lite0",
    "freeze_backbone": False,
    "unfrozen_stages": 0,
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout": 0.0,
    "rotation": 10.0,
    "batch_size": 32,
    **fine_tuning.off,
}
