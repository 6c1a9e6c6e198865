"""Evaluate a promoted model on any folder: `python -m tune.evaluate --model M --data DIR`.
Every labelled image in DIR is test data (any layout the data layer reads; no split)."""

from pathlib import Path

import torch

from data_utils import DataError
from data_utils.images import decode_at_sizes
from data_utils.layout import scan
from training.metrics import test_metrics
from tune import model_file
from tune.cli import ArgumentParser, run_main
from tune.results import percent, write_json


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.evaluate", description="Test a promoted model on a folder of photos."
    )
    p.add_argument("--model", required=True, help="a model.pt written by python -m tune.promote")
    p.add_argument(
        "--data",
        required=True,
        help="folder of labelled photos (class folders or smoking_*/notsmoking_* names)",
    )
    p.add_argument(
        "--out",
        help="write the metrics here as JSON (default: evaluation_<folder>.json beside the model)",
    )
    return p.parse_args(argv)


def load_labelled(folder: Path, image_sizes: list[int], classes: list[str]):
    """{size: the readable labelled photos decoded at that size}, and their labels: the index
    of their class among the model's `classes` (a folder may hold some of them, not others)."""
    if not folder.is_dir():
        raise DataError(f"--data {folder}: no such folder")
    files = scan(folder)
    unlabelled = files[files["label"].isna()]
    if len(unlabelled):
        print(f"Skipped {len(unlabelled)} image(s) with no class in their folder or file name")
    files = files[files["label"].notna()]
    if files.empty:
        raise DataError(
            f"--data {folder}: no image has a class in its folder or file name (the model's "
            f"classes: {', '.join(classes)})"
        )
    others = sorted(set(files["class"]) - set(classes))
    if others:
        raise DataError(
            f"--data {folder}: class(es) {', '.join(map(repr, others))} are not the model's "
            f"({', '.join(map(repr, classes))})"
        )
    index = {name: i for i, name in enumerate(classes)}
    paths, labels = (
        [folder / p for p in files["path"]],
        torch.tensor([index[c] for c in files["class"]], dtype=torch.float32),
    )
    by_size, readable, _ = decode_at_sizes(paths, image_sizes)
    if not readable:
        raise DataError(f"--data {folder}: no readable image")
    kept = set(readable)
    return by_size, labels[torch.tensor([path in kept for path in paths])]


def main(argv=None) -> int:
    args = parse_args(argv)
    model, _ = model_file.load(args.model)
    images, labels = load_labelled(Path(args.data), model.image_sizes, model.classes)
    metrics = test_metrics(labels, model.logits(images.get), model.classes)
    lo, hi = metrics["accuracy_ci95"]
    counts = ", ".join(f"{n} {name}" for name, n in metrics["n_per_class"].items())
    print(
        f"{args.data}: {metrics['n']} images ({counts}), "
        f"accuracy {percent(metrics['accuracy'])} (95% CI {percent(lo)}-{percent(hi)}), "
        f"loss {metrics['loss']:.4f}"
    )
    for name in ("precision", "recall", "f1", "roc_auc"):
        value = metrics[name]
        print(
            f"  {name}: {value:.4f}"
            if value is not None
            else f"  {name}: not computable ({metrics['not_computable'][name]})"
        )
    print(
        f"  confusion matrix (rows: true class, columns: predicted, in the order "
        f"{', '.join(model.classes)}): {metrics['confusion_matrix']}"
    )
    out = (
        Path(args.out)
        if args.out
        else Path(args.model).with_name(f"evaluation_{Path(args.data).resolve().name}.json")
    )
    write_json(out, {"model": str(args.model), "data": str(args.data), **metrics})
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    run_main(main)
