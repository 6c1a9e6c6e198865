"""Any timm model by name: `timm/<architecture>` in a space (e.g. "timm/convnext_tiny").

Built by `timm.create_model`, at the input size and with the mean and std of its pretrained
config, its head replaced by a fresh one for the data set's classes. Fine-tuned, it trains whole;
frozen (`freeze_backbone`), only its classifier learns, on the pooled features the backbone gives
before the head's dropout (what training/features.py caches, so a frozen trial costs a probe's
time). Partial fine-tuning (`unfrozen_stages`) is the EfficientNet-Lites' alone
(models/efficientnet.py): timm's stages have no common shape.
"""

import timm
from torch import nn

from models.logits import Logits

PREFIX = "timm/"


def is_timm(name: str) -> bool:
    return name.startswith(PREFIX) and timm.is_model(name.removeprefix(PREFIX))


def architecture(name: str) -> str:
    return name.removeprefix(PREFIX)


def pretrained_cfg(name: str):
    """timm's own record of the model's pretrained weights: input size, mean, std, hub id."""
    return timm.get_pretrained_cfg(architecture(name))


class FrozenTimm(Logits):
    """A timm network whose backbone does not learn (no gradient, batch norms in eval mode): the
    classifier alone trains, on the pooled features, with the head's dropout, the same way on
    photos as on cached features (`features`, `head_logits`)."""

    def __init__(self, net: nn.Module, dropout: float):
        super().__init__(net)
        self.dropout = dropout
        classifier = {id(p) for p in net.get_classifier().parameters()}
        for parameter in net.parameters():
            parameter.requires_grad = id(parameter) in classifier

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.eval()
        return self

    def forward(self, x):
        return head_logits(self, features(self, x))


def build(name: str, weights: str, dropout: float, freeze: bool, imagenet, outputs: int):
    """imagenet: the pretrained state dict (models/weights.py), needed for weights "imagenet"."""
    net = timm.create_model(architecture(name), pretrained=False, drop_rate=dropout)
    if weights == "imagenet":
        if imagenet is None:
            raise ValueError(f"{name}: its pretrained weights were not given")
        net.load_state_dict(imagenet)
    elif weights != "none":
        raise ValueError(f"weights must be 'imagenet' or 'none', got {weights!r}")
    net.reset_classifier(outputs)
    return FrozenTimm(net, dropout) if freeze else Logits(net)


def features(model: nn.Module, x):
    """The pooled features the classifier sees, before the head's dropout."""
    return model.net.forward_head(model.net.forward_features(x), pre_logits=True)


def head_logits(model: nn.Module, pooled):
    dropout = getattr(model, "dropout", model.net.drop_rate)
    pooled = nn.functional.dropout(pooled, p=dropout, training=model.training)
    return model.net.get_classifier()(pooled).squeeze(1)


def head_prefix(name: str) -> str:
    """Where the classifier's parameters are (their names start so) in the wrapped network."""
    return f"net.{pretrained_cfg(name).classifier}."
