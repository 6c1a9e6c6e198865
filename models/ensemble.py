"""How several models predict as one: the average of their probabilities (and, with flip
test-time augmentation, of their probabilities on the mirrored photo too), as logits of the
networks' own kind, so an ensemble is scored and predicts exactly as a single model does.
tune/promote.py chooses with it and tune/model_file.py predicts with it."""

import torch

from models.outputs import from_probabilities, probabilities


def average(logits: list) -> torch.Tensor:
    """The logits of the mean probabilities of several predictions (logits) of the same images."""
    return from_probabilities(torch.stack([probabilities(z) for z in logits]).mean(0))
