"""How several one-logit models predict as one: the average of their probabilities (and, with
flip test-time augmentation, of their probabilities on the mirrored photo too), as a logit, so
an ensemble is scored and thresholded exactly as a single model is. tune/promote.py chooses with
it and tune/model_file.py predicts with it."""

import torch


def average(logits: list) -> torch.Tensor:
    """The logit of the mean probability of several predictions (logits) of the same images."""
    return torch.logit(torch.stack([torch.sigmoid(z.float()) for z in logits]).mean(0), eps=1e-6)
