"""Training-step speed of every model the spaces build, at its input size, on synthetic batches
(no data loading): fp32 NCHW, fp32 channels_last and bf16 autocast + channels_last, on 1 and 2
torch threads; the table `training/precision.py` MEASURED is copied from. Run by hand:

    python benchmarks/step_speed.py [--models efficientnet_lite0 ...] [--seconds 8]

Each cell trains for about --seconds after one warm-up step (at least 1 step), so emulated bf16
(~5-10x slower where the CPU lacks native bf16, and measured on batches of 8 there) does not
take an hour. Prints the CPU first.
"""

import argparse
import time

import torch

from models import INPUTS, build_model
from training import precision
from training.precision import Precision

MODELS = ["seed_cnn", "resnet18", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
SIZES = {"efficientnet_lite1": 320}  # the size the pretrained spaces train Lite1 at
SETTINGS = [Precision("fp32", False), Precision("fp32", True), Precision("bf16", True)]


def images_per_second(name: str, chosen: Precision, threads: int, seconds: float) -> float:
    """Training images per second of a fine-tuned `name` (every layer trains) at its size, in
    batches of 32 (of 8 where bf16 is emulated: a step of 32 takes minutes there)."""
    batch = 8 if chosen.dtype == "bf16" and not precision.native_bf16() else 32
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    size = SIZES.get(name, INPUTS[name][0])
    model = chosen.model(build_model(name, {"weights": "none", "dropout": 0.2}, size))
    x = chosen.batch(torch.randn(batch, 3, size, size))
    y = torch.randint(0, 2, (batch,)).float()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        with chosen.autocast():
            logits = model(x).float().reshape(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    steps, start = 0, time.perf_counter()
    while steps < 1 or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    caps = precision.cpu_capabilities()
    print(f"CPU: {caps}; class {precision.cpu_class()}", flush=True)
    print("| model | size | threads | " + " | ".join(s.describe() for s in SETTINGS) + " | auto |")
    print("|---" * (4 + len(SETTINGS)) + "|")
    for name in args.models:
        for threads in (1, 2):
            speeds = [images_per_second(name, s, threads, args.seconds) for s in SETTINGS]
            size = SIZES.get(name, INPUTS[name][0])
            cells = " | ".join(f"{v:.1f} img/s" for v in speeds)
            auto = precision.choose("auto", name).describe()
            print(f"| {name} | {size} | {threads} | {cells} | {auto} |", flush=True)


if __name__ == "__main__":
    main()
