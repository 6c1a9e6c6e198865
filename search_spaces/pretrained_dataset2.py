"""The backbone searched too: EfficientNet-Lite0, -Lite1 or -Lite2, frozen or fine-tuned, on data set 2 (smoker_detection_augmented).

The same search as pretrained_dataset1, on another data set (see cnn_dataset2 for where data set 2 comes from).
"""
from search_spaces.pretrained_dataset1 import (baseline, conditions, fixed, grace_period, image_size,  # noqa: F401
                                               max_epochs, model, num_samples, params)

dataset = "smoker_detection_augmented"
