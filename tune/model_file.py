"""The promoted model as one file: weights plus what is needed to use them (model name, config,
image size, normalisation). Saved and loaded weights-only: a file that needs more than tensors
and plain values to load is refused, never unpickled."""
import pickle
from pathlib import Path

import torch

from models import INPUTS, build_model
from tune.cli import UsageError

FORMAT = "smoker-tune-model/1"


def save(path: Path, model_name: str, config: dict, image_size: int, state_dict: dict, source: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"format": FORMAT, "model": model_name, "config": config, "image_size": image_size,
                "normalization": INPUTS[model_name][1], "source": source, "state_dict": state_dict}, tmp)
    tmp.replace(path)


def load(path: str | Path):
    """Returns (model in eval mode, its metadata)."""
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
    return model.eval(), saved
