"""Several one-logit models as one: the average of their probabilities, and with `hflip_tta` also
of their probabilities on the mirrored image. It returns the logit of that average, so evaluation
and prediction use it exactly as they use a single model."""
import torch
from torch import nn


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module], hflip_tta: bool = False):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.hflip_tta = hflip_tta

    def forward(self, x):
        views = [x, x.flip(-1)] if self.hflip_tta else [x]
        return average([member(view) for member in self.members for view in views])


def average(logits: list) -> torch.Tensor:
    """The logit of the mean probability of several predictions (logits) of the same images."""
    return torch.logit(torch.stack([torch.sigmoid(z.float()) for z in logits]).mean(0), eps=1e-6)
