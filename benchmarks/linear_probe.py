"""Are the EfficientNet-Lite0/1/2 ImageNet weights really in use, and which timm variant fits them?
A logistic-regression probe on frozen, pooled features at each backbone's native input size,
trained on the training split of data set 1 and scored on its validation split. Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/linear_probe.py \
        [--models efficientnet_lite1 ...]
"""

import argparse

import torch

from benchmarks import compute
from benchmarks.probe import probe_accuracy
from models import INPUTS
from models.efficientnet import SHIPPED, efficientnet_lite
from training import precision


def main():
    print(f"CPU: {precision.cpu_capabilities()} (the probe computes in fp32)", flush=True)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root")
    p.add_argument("--per-class", type=int, help="use at most this many images per class per split")
    p.add_argument("--models", nargs="+", choices=list(SHIPPED), default=list(SHIPPED))
    args = p.parse_args()
    for name in args.models:
        torch.manual_seed(0)
        size = INPUTS[name][0]
        data = compute.prepared(args.data_root, size, args.per_class)
        print(
            f"{name}: train {data.sizes()['train']} / val {data.sizes()['val']} "
            f"images, {size}x{size}"
        )
        for variant, weights in [
            (name, "imagenet"),
            (f"tf_{name}", "imagenet"),
            (SHIPPED[name].variant, "none"),
        ]:
            accuracy = probe_accuracy(efficientnet_lite(name, weights, variant=variant), data)
            print(
                f"  {variant:22s} weights={weights:8s} linear-probe val accuracy {accuracy:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
