"""Are the EfficientNet-Lite0 ImageNet weights really in use, and which timm variant fits them?
A logistic-regression probe on frozen, pooled features, trained on the training split of data
set 1 and scored on its validation split. Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/linear_probe.py
"""
import argparse

import torch

from data_utils.layout import resolve_data_root
from data_utils.prepare import prepare
from models.efficientnet import efficientnet_lite0
from training import precision
from training.probe import probe_accuracy


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
