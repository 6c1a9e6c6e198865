"""Evaluate a promoted model on any folder: `python -m tune.evaluate --model M --data DIR`.
Every labelled image in DIR is test data (any layout the data layer reads; no split)."""
from pathlib import Path

import torch

from data_utils import DataError
from data_utils.images import decode_many
from data_utils.layout import scan
from tune import model_file
from tune.cli import ArgumentParser, run_main
from training.metrics import test_metrics
from tune.results import percent, write_json
from training.loop import predict_logits


def parse_args(argv):
    p = ArgumentParser(prog="python -m tune.evaluate", description="Test a promoted model on a folder of photos.")
    p.add_argument("--model", required=True, help="a model.pt written by python -m tune.promote")
    p.add_argument("--data", required=True, help="folder of labelled photos (class folders or smoking_*/notsmoking_* names)")
    p.add_argument("--out", help="write the metrics here as JSON (default: evaluation_<folder>.json beside the model)")
    return p.parse_args(argv)


def load_labelled(folder: Path, image_size: int):
    if not folder.is_dir():
        raise DataError(f"--data {folder}: no such folder")
    files = scan(folder)
    unlabelled = files[files["label"].isna()]
    if len(unlabelled):
        print(f"Skipped {len(unlabelled)} image(s) with no class in their folder or file name")
    files = files[files["label"].notna()]
    if files.empty:
        raise DataError(f"--data {folder}: no image has a class in its folder or file name (smoking / not smoking)")
    images, _ = decode_many([folder / p for p in files["path"]], image_size)
    kept = [(image, int(label)) for image, label in zip(images, files["label"]) if image is not None]
    if not kept:
        raise DataError(f"--data {folder}: no readable image")
    return torch.stack([i for i, _ in kept]), torch.tensor([l for _, l in kept], dtype=torch.float32)


def main(argv=None) -> int:
    args = parse_args(argv)
    model, info, computed_in = model_file.load(args.model)
    images, labels = load_labelled(Path(args.data), info["image_size"])
    metrics = test_metrics(labels, predict_logits(model, images, info["normalization"], computed_in))
    lo, hi = metrics["accuracy_ci95"]
    print(f"{args.data}: {metrics['n']} images ({metrics['n_smoking']} smoking), accuracy {percent(metrics['accuracy'])} "
          f"(95% CI {percent(lo)}-{percent(hi)}), loss {metrics['loss']:.4f}")
    for name in ("precision", "recall", "f1", "roc_auc"):
        value = metrics[name]
        print(f"  {name}: {value:.4f}" if value is not None else f"  {name}: not computable ({metrics['not_computable'][name]})")
    print(f"  confusion matrix [[TN, FP], [FN, TP]]: {metrics['confusion_matrix']}")
    out = Path(args.out) if args.out else Path(args.model).with_name(f"evaluation_{Path(args.data).resolve().name}.json")
    write_json(out, {"model": str(args.model), "data": str(args.data), **metrics})
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    run_main(main)
