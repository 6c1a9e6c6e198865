"""Are the EfficientNet-Lite0 ImageNet weights really in use, and which timm variant fits them?
A logistic-regression probe on frozen, pooled features, trained on the training split of data
set 1 and scored on its validation split. Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/linear_probe.py
"""
import argparse

import torch
from sklearn.linear_model import LogisticRegression

from data_utils.layout import resolve_data_root
from data_utils.prepare import prepare
from data_utils.transforms import to_float
from models.efficientnet import efficientnet_lite0, features
from training import precision


@torch.no_grad()
def pooled(model, images, batch=64):
    model.eval()
    return torch.cat([features(model, to_float(images[i:i + batch], "imagenet")) for i in range(0, len(images), batch)])


def probe_accuracy(model, data) -> float:
    (train_x, train_y), (val_x, val_y) = data.tensors["train"], data.tensors["val"]
    classifier = LogisticRegression(max_iter=2000, C=0.5).fit(pooled(model, train_x).numpy(), train_y.numpy())
    return classifier.score(pooled(model, val_x).numpy(), val_y.numpy())


def main():
    print(f"CPU: {precision.cpu_capabilities()} (the probe computes in fp32)", flush=True)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root")
    p.add_argument("--per-class", type=int, help="use at most this many images per class per split")
    args = p.parse_args()
    torch.manual_seed(0)
    data = prepare(resolve_data_root(args.data_root), "smoker_detection", 224, seed=0, subset_per_class=args.per_class)
    print(f"train {data.sizes()['train']} / val {data.sizes()['val']} images, 224x224")
    for variant, weights in [("efficientnet_lite0", "imagenet"), ("tf_efficientnet_lite0", "imagenet"),
                             ("efficientnet_lite0", "none")]:
        accuracy = probe_accuracy(efficientnet_lite0(weights, variant=variant), data)
        print(f"{variant:22s} weights={weights:8s} linear-probe val accuracy {accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
