"""How several models predict as one: the average of their probabilities (and, with flip
test-time augmentation, of their probabilities on the mirrored photo too), as logits of the
networks' own kind, so an ensemble is scored and predicts exactly as a single model does.
tune/promote/ chooses with it and tune/model_file.py predicts with it."""

import torch

from models.outputs import from_probabilities, probabilities


def average(logits: list, weights: list[float] | None = None) -> torch.Tensor:
    """The logits of the mean probabilities of several predictions (logits) of the same images,
    weighted by `weights` (equal when None): the probe's backbones share one model's weight."""
    p = torch.stack([probabilities(z) for z in logits])
    w = torch.tensor(weights or [1.0] * len(logits), dtype=p.dtype)[:, None, None]
    return from_probabilities((p * w).sum(0) / w.sum())
