"""The logits of a torchvision or timm network with a fresh head, as the loss takes them."""

from torch import nn


class Logits(nn.Module):
    """(N,) for two classes (one logit, for BCEWithLogitsLoss on float labels), (N, C) for C
    classes: squeezes a one-logit head's (N, 1) output, leaves a wider one as it is."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(1)
