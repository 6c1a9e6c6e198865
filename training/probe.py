"""How good are a frozen backbone's features? A logistic regression on them (a linear probe),
fitted on the training split and scored on the validation split. It tells real ImageNet weights
from random ones in seconds (tests/test_efficientnet.py, benchmarks/linear_probe.py)."""
import torch
from sklearn.linear_model import LogisticRegression

from data_utils.transforms import to_float
from models.efficientnet import features


@torch.no_grad()
def pooled(model, images, batch=64):
    model.eval()
    return torch.cat([features(model, to_float(images[i:i + batch], "imagenet")) for i in range(0, len(images), batch)])


def probe_accuracy(model, data) -> float:
    (train_x, train_y), (val_x, val_y) = data.tensors["train"], data.tensors["val"]
    classifier = LogisticRegression(max_iter=2000, C=0.5).fit(pooled(model, train_x).numpy(), train_y.numpy())
    return classifier.score(pooled(model, val_x).numpy(), val_y.numpy())
