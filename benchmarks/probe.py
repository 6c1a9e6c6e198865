"""How good are a frozen backbone's features? A logistic regression on them (a linear probe),
fitted on the training split and scored on the validation split. It tells real ImageNet weights
from random ones in seconds (tests/test_efficientnet.py, benchmarks/linear_probe.py)."""

from sklearn.linear_model import LogisticRegression

from training.features import pooled
from training.precision import Precision


def probe_accuracy(model, data, model_name: str = "efficientnet_lite0") -> float:
    """The probe's validation accuracy. Every EfficientNet-Lite (any variant, any weights) pools
    and normalizes its input alike: the default name serves them all."""
    model.eval()
    (train_x, train_y), (val_x, val_y) = data.tensors["train"], data.tensors["val"]
    train, val = (pooled(model, model_name, x, Precision()).numpy() for x in (train_x, val_x))
    classifier = LogisticRegression(max_iter=2000, C=0.5).fit(train, train_y.numpy())
    return classifier.score(val, val_y.numpy())
