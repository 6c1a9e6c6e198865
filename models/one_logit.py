"""A one-logit wrapper for torchvision and timm networks whose head outputs shape (N, 1)."""

from torch import nn


class OneLogit(nn.Module):
    """Squeezes the (N, 1) output to (N,) to match BCEWithLogitsLoss on float labels."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(1)
