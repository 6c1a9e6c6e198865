"""The seed report's ImageNet-pretrained ResNet18 on data set 2 (smoker_detection_augmented).

The same search as resnet18_dataset1, on another data set (see cnn_dataset2 for where data set 2
comes from). Needs the ImageNet weights file offline: see `--weights-file` in
`python -m tune.run --help`.
"""

from search_spaces import _fine_tuning as fine_tuning
from search_spaces.resnet18_dataset1 import (
    conditions,  # noqa: F401
    fixed,  # noqa: F401
    image_size,  # noqa: F401
    max_passes,  # noqa: F401
    model,  # noqa: F401
    num_samples,  # noqa: F401
    params,  # noqa: F401
)

dataset = "smoker_detection_augmented"

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
    **fine_tuning.off,
}
