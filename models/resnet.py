"""torchvision's ResNet18 with a fresh head (one logit for two classes); its ImageNet weights
read from a file (models/weights.py finds or downloads it)."""

from pathlib import Path

import torch
import torchvision
from torch import nn

from models.logits import Logits

WEIGHTS = torchvision.models.ResNet18_Weights.IMAGENET1K_V1


class MissingWeightsError(Exception):
    pass


def imagenet_weights_path(weights_file: str | None) -> Path:
    """The file the ImageNet weights will be read from: --weights-file, else torch hub's cache."""
    if weights_file:
        path = Path(weights_file)
    else:
        path = Path(torch.hub.get_dir()) / "checkpoints" / Path(WEIGHTS.url).name
    if not path.is_file():
        raise MissingWeightsError(
            f"ImageNet weights for resnet18 not found at {path}, and {WEIGHTS.url} cannot be "
            f"reached from here: copy {Path(WEIGHTS.url).name} there or pass --weights-file PATH"
        )
    return path


def imagenet_state(weights_file: str | None = None) -> dict:
    return torch.load(imagenet_weights_path(weights_file), map_location="cpu", weights_only=True)


def resnet18(
    weights: str = "none", dropout: float = 0.0, imagenet: dict | None = None, outputs: int = 1
) -> nn.Module:
    """imagenet: the ImageNet state dict (read from its file when not given)."""
    model = torchvision.models.resnet18()
    if weights == "imagenet":
        model.load_state_dict(imagenet if imagenet is not None else imagenet_state())
    elif weights != "none":
        raise ValueError(f"weights must be 'imagenet' or 'none', got {weights!r}")
    head = nn.Linear(model.fc.in_features, outputs)
    model.fc = nn.Sequential(nn.Dropout(dropout), head) if dropout > 0 else head
    return Logits(model)
