"""Training-step speed on synthetic batches of 32 (no data loading): NCHW vs channels_last, fp32
vs bf16 autocast, 1 and 2 torch threads, for the report's CNN (256x256) and ResNet18 (224x224).
Run by hand: python benchmarks/step_speed.py [--bf16]"""

import sys
import time

import torch
import torchvision

from models.seed_cnn import SeedCNN
from training import precision

MODELS = [
    ("seed_cnn", lambda: SeedCNN(256), 256),
    ("resnet18", lambda: torchvision.models.resnet18(num_classes=1), 224),
]


def images_per_second(make_model, size, threads, channels_last, bf16, steps=6, batch=32) -> float:
    """Training images per second over `steps` steps, after one warm-up step."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = make_model()
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 2, (batch,)).float()
    if channels_last:
        model, x = (
            model.to(memory_format=torch.channels_last),
            x.to(memory_format=torch.channels_last),
        )
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x).float().reshape(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


if __name__ == "__main__":
    print(
        f"CPU: {precision.cpu_capabilities()}; --precision auto would "
        f"pick {precision.choose().describe()}",
        flush=True,
    )
    variants = [(False, False), (True, False)] + (
        [(False, True), (True, True)] if "--bf16" in sys.argv else []
    )
    for name, make_model, size in MODELS:
        for threads in (1, 2):
            for channels_last, bf16 in variants:
                speed = images_per_second(make_model, size, threads, channels_last, bf16)
                print(
                    f"{name:9s} {threads} "
                    f"thread(s) {'channels_last' if channels_last else 'NCHW':13s} "
                    f"{'bf16' if bf16 else 'fp32'}: {speed:.1f} img/s",
                    flush=True,
                )
