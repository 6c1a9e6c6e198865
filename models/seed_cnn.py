"""The seed report's custom CNN, layer for layer, with its dropout made searchable."""

import torch
from torch import nn


class SeedCNN(nn.Module):
    """3 x (conv 3x3 -> ReLU -> MaxPool 2) with 32/64/128 filters, then fc 128 -> ReLU -> fc 1
    (the report's one logit for two classes; `outputs` logits for more, models/outputs.py).

    The report used 256x256 inputs (flatten 128x32x32); `image_size` only changes the width of
    fc1 so that tiny test searches can use small images with the same network.
    Dropout goes before fc1 (the report's "after the conv stack"), after fc1, both, or nowhere:
    a rate of 0 means no dropout layer at that place.
    """

    def __init__(
        self,
        image_size: int = 256,
        dropout_before_fc1: float = 0.0,
        dropout_after_fc1: float = 0.0,
        outputs: int = 1,
    ):
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = image_size // 8
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout_before_fc1) if dropout_before_fc1 > 0 else nn.Identity(),
            nn.Linear(128 * side * side, 128),
            nn.ReLU(),
            nn.Dropout(dropout_after_fc1) if dropout_after_fc1 > 0 else nn.Identity(),
            nn.Linear(128, outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).squeeze(1)
