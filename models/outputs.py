"""What a network's logits mean, for two classes or more.

Two classes: one logit per image, shape (N,), the probability of class 1 its sigmoid (the
report's networks, built as it built them, with BCEWithLogitsLoss). More: one logit per class,
shape (N, C), the probabilities their softmax (cross-entropy). Everything after the network
(loss, accuracy, ensembles, predict) asks here instead of assuming either."""

import torch
from torch import nn


def logits_for(num_classes: int) -> int:
    """How many logits a network gives per image."""
    return 1 if num_classes == 2 else num_classes


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(N, C): every class's probability."""
    logits = logits.float()
    if logits.dim() == 1:
        p = torch.sigmoid(logits)
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)


def predicted(logits: torch.Tensor) -> torch.Tensor:
    """(N,): the index of each image's most probable class."""
    return (logits > 0).long() if logits.dim() == 1 else logits.argmax(dim=1)


def from_probabilities(p: torch.Tensor) -> torch.Tensor:
    """Logits of the same kind as a network's, from (N, C) probabilities (for ensembles)."""
    if p.shape[1] == 2:
        return torch.logit(p[:, 1], eps=1e-6)
    return torch.log(p.clamp_min(1e-12))


def loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Binary or categorical cross-entropy; `smoothing` moves each target towards the uniform
    distribution over the classes by that much (for two classes: towards 0.5)."""
    if logits.dim() == 1:
        targets = labels * (1 - smoothing) + 0.5 * smoothing if smoothing else labels
        return nn.functional.binary_cross_entropy_with_logits(logits, targets)
    return nn.functional.cross_entropy(logits, labels.long(), label_smoothing=smoothing)
