"""Do the EfficientNet-Lites do better on larger photos than their native size? Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/input_size.py \
        [--sizes efficientnet_lite1=240,320 ...]

A linear probe per backbone and input size: frozen ImageNet features (as a frozen trial sees
them, in the search's precision) of data set 1's training photos and their mirror images, a
logistic regression for each C in 0.03, 0.1, 0.3, scored on the validation split; prints the best
C's validation loss and accuracy, and the seconds the features took. Validation only: the test
split is never read.
"""

import argparse
import time

import torch
from sklearn.linear_model import LogisticRegression
from torchvision.transforms.v2 import functional as F

from benchmarks import compute
from models import CACHED_FEATURES, build_model
from training import features
from training.metrics import scores

DEFAULT_SIZES = [
    "efficientnet_lite0=224,288",
    "efficientnet_lite1=240,280,320,360",
    "efficientnet_lite2=260,340",
]


def model_sizes(text: str) -> tuple[str, list[int]]:
    """An argparse type: MODEL=SIZE,SIZE,..."""
    name, _, sizes = text.partition("=")
    if name not in CACHED_FEATURES or not sizes:
        raise argparse.ArgumentTypeError(
            f"expected MODEL=SIZE,SIZE with MODEL one of {', '.join(CACHED_FEATURES)}"
        )
    try:
        return name, [int(size) for size in sizes.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must be whole numbers of pixels, got {sizes!r}"
        ) from None


def probe(name: str, size: int, data: dict, chosen) -> str:
    model = chosen.model(
        build_model(name, {"weights": "imagenet", "freeze_backbone": True}, size)
    ).eval()
    (train_x, train_y), (val_x, val_y) = data["train"], data["val"]
    started = time.perf_counter()
    train = torch.cat(
        [
            features.pooled(model, name, train_x, chosen),
            features.pooled(model, name, F.horizontal_flip(train_x), chosen),
        ]
    )
    val = features.pooled(model, name, val_x, chosen)
    seconds = time.perf_counter() - started
    fitted = []
    for c in (0.03, 0.1, 0.3):
        classifier = LogisticRegression(C=c, max_iter=3000).fit(
            train.numpy(), train_y.repeat(2).numpy()
        )
        fitted.append(
            (scores(torch.tensor(classifier.decision_function(val.numpy())).float(), val_y), c)
        )
    best, c = min(fitted, key=lambda scored: scored[0]["loss"])
    return (
        f"| {name} | {size} | {c} | {best['loss']:.4f} | {best['accuracy']:.3f} | {seconds:.0f} |"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        nargs="+",
        type=model_sizes,
        metavar="MODEL=SIZE,SIZE",
        default=[model_sizes(s) for s in DEFAULT_SIZES],
        help="backbones and the input sizes to probe",
    )
    compute.add_flags(p, threads=2)
    args = p.parse_args()
    chosen = compute.set_up(args)
    print(
        "| backbone | input | best C | val loss | val acc | features s |\n| --- | --- | --- | --- "
        "| --- | --- |"
    )
    for name, sizes in args.sizes:
        for size in sizes:
            print(probe(name, size, compute.photos(args.data_root, size), chosen), flush=True)


if __name__ == "__main__":
    main()
