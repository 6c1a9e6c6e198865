"""The promoted model as one file: weights plus what is needed to use them (model name, config,
image size, normalisation), or several such models averaged (models/ensemble.py). Saved and
loaded weights-only: a file that needs more than tensors and plain values to load is refused,
never unpickled."""
import pickle
import sys
from pathlib import Path

import torch

from models import INPUTS, build_model
from models.ensemble import Ensemble
from training.precision import Precision, usable
from tune.cli import UsageError

FORMAT = "smoker-tune-model/1"


def save(path: Path, members: list[tuple[str, dict, dict]], image_size: int, precision: Precision, source: dict,
         hflip_tta: bool = False) -> None:
    """members: (model name, config, state dict) of each model averaged (one for a single model).
    `precision`: what the search trained and validated in, so `evaluate` and `predict` compute the same way."""
    normalizations = {INPUTS[name][1] for name, _, _ in members}
    assert len(normalizations) == 1, "an ensemble's members must take the same input"
    saved = {"format": FORMAT, "image_size": image_size, "normalization": normalizations.pop(),
             "precision": precision.as_dict(), "source": source}
    if len(members) == 1 and not hflip_tta:
        (name, config, state_dict), = members
        saved.update(model=name, config=config, state_dict=state_dict)
    else:
        saved.update(model="ensemble", hflip_tta=hflip_tta,
                     members=[{"model": name, "config": config, "state_dict": state_dict}
                              for name, config, state_dict in members])
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(saved, tmp)
    tmp.replace(path)


def build(name: str, config: dict, image_size: int, state_dict: dict):
    # "weights": "none": the file holds every weight, so nothing is read from ImageNet files
    model = build_model(name, {**config, "weights": "none"}, image_size)
    model.load_state_dict(state_dict)
    return model


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
    if saved["model"] == "ensemble":
        model = Ensemble([build(m["model"], m["config"], saved["image_size"], m["state_dict"])
                          for m in saved["members"]], saved["hflip_tta"])
    else:
        model = build(saved["model"], saved["config"], saved["image_size"], saved["state_dict"])
    computed_in, note = usable(saved.get("precision"))
    if note:
        print(f"Note: {note}", file=sys.stderr)
    return computed_in.model(model).eval(), saved, computed_in
