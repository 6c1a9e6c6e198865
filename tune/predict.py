"""Use a promoted model: `python -m tune.predict --model M IMAGE_OR_DIR...` prints, per image,
the most probable class and every class's probability (`p_smoking`, `p_not smoking`, ...)."""

import json
import sys
from pathlib import Path

import pandas as pd

from data_utils.images import decode_at_sizes
from data_utils.layout import IMAGE_SUFFIXES
from models import outputs
from tune import model_file
from tune.cli import ArgumentParser, run_main
from tune.errors import UsageError


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.predict", description="Each class's probability for each photo."
    )
    p.add_argument("--model", required=True, help="a model.pt written by python -m tune.promote")
    p.add_argument(
        "inputs", nargs="+", metavar="IMAGE_OR_DIR", help="photos, or folders searched for photos"
    )
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    return p.parse_args(argv)


def image_paths(inputs: list[str]) -> list[Path]:
    paths = []
    for given in map(Path, inputs):
        if given.is_dir():
            paths += sorted(
                p for p in given.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
        elif given.is_file():
            paths.append(given)
        else:
            raise UsageError(f"{given}: no such file or folder")
    if not paths:
        raise UsageError(f"no images found in {', '.join(inputs)}")
    return paths


def main(argv=None) -> int:
    args = parse_args(argv)
    model, _ = model_file.load(args.model)
    paths = image_paths(args.inputs)
    # stdout is the table (csv, json: for other programs); each unreadable photo: stderr, below
    images, readable, errors = decode_at_sizes(paths, model.image_sizes, say=lambda _: None)
    if not readable:
        raise UsageError("none of the images could be read")
    logits = model.logits(images.get)
    probs = outputs.probabilities(logits).numpy().round(4)
    table = pd.DataFrame(
        {
            "image": [str(p) for p in readable],
            "label": [model.classes[i] for i in outputs.predicted(logits).tolist()],
            **{f"p_{name}": probs[:, i] for i, name in enumerate(model.classes)},
        }
    )
    if args.format == "csv":
        print(table.to_csv(index=False), end="")
    elif args.format == "json":
        print(json.dumps(table.to_dict(orient="records"), indent=2))
    else:
        print(table.to_string(index=False))
    for path, why in errors.items():  # the others are printed; these are named, exit 1
        print(f"{path}: could not read it ({why})", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    run_main(main)
