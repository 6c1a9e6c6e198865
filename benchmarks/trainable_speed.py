"""How fast does one trial train, compared with the seed report's own loop? Run by hand:

    TUNE_DATA_ROOT=../shared/datasets python benchmarks/trainable_speed.py

In ONE run, on the real photos (the experiment split of data set 1, seed 0), it trains each
model for --epochs epochs two ways and prints img/s, their ratio and the validation accuracy
each reaches (same seed, same schedule), plus this CPU's capabilities, the precision and layout
`--precision auto` picks on it, and its fp32 and bf16 matmul GFLOP/s:
  (a) the report's loop: ImageFolder-style dataset decoding JPEGs every epoch, torchvision
      transforms (Resize, RandomRotation(10), ToTensor, Normalize), DataLoader, fp32, NCHW;
  (b) this project's trainable path (training.loop.train_passes) on the decoded tensor cache,
      in the precision and layout that `--precision` (default auto) chooses.
"""

import argparse
import time

import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from benchmarks import compute
from data_utils.transforms import NORMALIZATIONS
from models import INPUTS, build_model
from training import precision
from training.loop import LoopSettings, evaluate, train_passes

CONFIG = {
    "lr": 1e-3,
    "use_weight_decay": True,
    "weight_decay": 1e-4,
    "dropout_placement": "both",
    "dropout_before_fc1": 0.6,
    "dropout_after_fc1": 0.4,
    "dropout": 0.0,
    "rotation": 10.0,
    "offline_rotations": False,
    "batch_size": 32,
    "weights": "none",
}


def matmul_gflops(dtype, n=1024, repeats=3) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


class ReportDataset(torch.utils.data.Dataset):
    """What the report did: open and decode every JPEG, every epoch."""

    def __init__(self, files, transform):
        self.files, self.transform = files, transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        path, label = self.files[i]
        return self.transform(Image.open(path).convert("RGB")), torch.tensor(float(label))


def report_loop(model_name, size, files, val, epochs, seed):
    torch.manual_seed(seed)
    mean, std = NORMALIZATIONS[INPUTS[model_name][1]]
    transform = transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.RandomRotation(10),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    loader = torch.utils.data.DataLoader(
        ReportDataset(files, transform), batch_size=32, shuffle=True
    )
    model = build_model(model_name, CONFIG, size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for images, labels in loader:
            loss = loss_fn(model(images).squeeze(-1), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        accuracy = evaluate(model, *val, INPUTS[model_name][1])[
            "accuracy"
        ]  # validated every epoch, as (b) does
    seconds = time.perf_counter() - start
    return len(files) * epochs / seconds, accuracy


def project_loop(model_name, size, data, epochs, seed, chosen):
    settings = LoopSettings(
        model=model_name, image_size=size, max_epochs=epochs, seed=seed, precision=chosen
    )
    start = time.perf_counter()
    for metrics, _ in train_passes(CONFIG, settings, data):  # noqa: B007  read after the loop
        pass
    seconds = time.perf_counter() - start  # includes validating each epoch, as (a) does
    return len(data["train"][1]) * epochs / seconds, metrics["val_acc"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["seed_cnn", "resnet18"], choices=list(INPUTS))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument(
        "--precision",
        choices=precision.CHOICES,
        default="auto",
        help="for (b); (a) is always fp32 NCHW",
    )
    p.add_argument("--data-root")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    chosen = precision.choose(args.precision)
    print(f"CPU: {precision.cpu_capabilities()}", flush=True)
    print(
        f"(b) computes in {chosen.describe()} (--precision {args.precision}); "
        f"torch {torch.__version__}, {args.threads} threads; matmul "
        f"fp32 {matmul_gflops(torch.float32):.0f} GFLOP/s, "
        f"bf16 {matmul_gflops(torch.bfloat16, n=512):.0f} GFLOP/s",
        flush=True,
    )
    for model_name in args.models:
        size = INPUTS[model_name][0]
        data = compute.prepared(args.data_root, size)
        ok = data.manifest[(data.manifest.status == "ok") & (data.manifest.split == "train")]
        files = [(data.dataset_dir / p, label) for p, label in zip(ok.path, ok.label, strict=True)]
        speeds, accuracies = [], []
        for seed in args.seeds:
            report_speed, report_acc = report_loop(
                model_name, size, files, data.tensors["val"], args.epochs, seed
            )
            project_speed, project_acc = project_loop(
                model_name, size, data.tensors, args.epochs, seed, chosen
            )
            speeds.append((report_speed, project_speed))
            accuracies.append((report_acc, project_acc))
            print(
                f"{model_name} seed {seed}, {args.epochs} epochs on {len(files)} images: report "
                f"loop {report_speed:.2f} img/s (val acc {report_acc:.3f}), "
                f"project {project_speed:.2f} img/s (val acc {project_acc:.3f}); "
                f"ratio {project_speed / report_speed:.2f}x",
                flush=True,
            )
        (report_speed, project_speed), (report_acc, project_acc) = (
            [sum(column) / len(column) for column in zip(*rows, strict=True)]
            for rows in (speeds, accuracies)
        )
        print(
            f"{model_name} mean of {len(args.seeds)} seeds: report loop {report_speed:.2f} img/s "
            f"(val acc {report_acc:.3f}), project {project_speed:.2f} img/s (val "
            f"acc {project_acc:.3f}); ratio {project_speed / report_speed:.2f}x, accuracy "
            f"gap {100 * (project_acc - report_acc):+.1f} points",
            flush=True,
        )


if __name__ == "__main__":
    main()
