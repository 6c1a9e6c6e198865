"""The promoted model as one file: weights plus what is needed to use them (model name, config,
image size, normalisation). Saved and loaded weights-only: a file that needs more than tensors
and plain values to load is refused, never unpickled."""
import pickle
import sys
from pathlib import Path

import torch

from models import INPUTS, build_model
from training.precision import Precision, usable
from tune.cli import UsageError

FORMAT = "smoker-tune-model/1"


def save(path: Path, model_name: str, config: dict, image_size: int, state_dict: dict, precision: Precision,
         source: dict) -> None:
    """`precision`: what the search trained and validated in, so `evaluate` and `predict` compute the same way."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"format": FORMAT, "model": model_name, "config": config, "image_size": image_size,
                "normalization": INPUTS[model_name][1], "precision": precision.as_dict(), "source": source,
                "state_dict": state_dict}, tmp)
    tmp.replace(path)


def load(path: str | Path):
    """Returns (model in eval mode, its metadata, the precision to compute in on this CPU)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--model {path}: no such file")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:200]
        raise UsageError(f"--model {path} is not a weights-only model file (refused to unpickle it: {reason}); "
                         f"use a model.pt written by python -m tune.promote")
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise UsageError(f"--model {path} is not a model written by python -m tune.promote (format {FORMAT})")
    # "weights": "none": the file holds every weight, so nothing is read from ImageNet files
    model = build_model(saved["model"], {**saved["config"], "weights": "none"}, saved["image_size"])
    model.load_state_dict(saved["state_dict"])
    computed_in, note = usable(saved.get("precision"))
    if note:
        print(f"Note: {note}", file=sys.stderr)
    return computed_in.model(model).eval(), saved, computed_in
