"""The promoted model as one file: weights plus what is needed to use them (model name, config,
input size, normalisation), or several such models averaged (models/ensemble.py). Saved and
loaded weights-only: a file that needs more than tensors and plain values to load is refused,
never unpickled."""

import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from data_utils.layout import SMOKING_CLASSES
from models import INPUTS, build_model
from models.ensemble import average
from training.loop import predict_logits
from training.precision import Precision, usable
from tune.errors import UsageError
from tune.results import save_atomic

FORMAT = "smoker-tune-model/1"


def save(
    path: Path,
    members: list[tuple[str, dict, dict, int]],
    precision: Precision,
    source: dict,
    hflip_tta: bool = False,
    classes: list[str] | None = None,
    weights: list[float] | None = None,
    weights_sources: dict | None = None,
) -> None:
    """members: (model name, config, state dict, input size) of each model averaged (one for a
    single model). `precision`: what the search trained and validated in, so `evaluate` and
    `predict` compute the same way. `classes`: the class names, label = index. `weights`: each
    member's share of the average (equal when None). `weights_sources`: per model name, where
    its ImageNet weights came from (models/weights.py)."""
    saved = {
        "format": FORMAT,
        "precision": precision.as_dict(),
        "source": source,
        "classes": list(classes or SMOKING_CLASSES),
    }
    described = [
        {
            "model": name,
            "config": config,
            "state_dict": state_dict,
            "image_size": size,
            "normalization": INPUTS[name][1],
            **(
                {"weights_source": weights_sources[name]} if name in (weights_sources or {}) else {}
            ),
        }
        for name, config, state_dict, size in members
    ]
    for member, weight in zip(described, weights, strict=True) if weights else []:
        member["weight"] = weight
    if len(members) == 1 and not hflip_tta:
        saved.update(described[0])
    else:
        saved.update(model="ensemble", hflip_tta=hflip_tta, members=described)
    save_atomic(path, lambda tmp: torch.save(saved, tmp))  # a full disk leaves no half model.pt


class Promoted:
    """A model file ready to predict: one network, or several averaged (models/ensemble.py). Each
    sees the photos decoded at its own input size, as in its trials, so `logits` asks for them
    by size."""

    def __init__(
        self,
        members: list[tuple[nn.Module, int, str]],
        hflip_tta: bool,
        precision: Precision,
        classes: list[str],
        weights: list[float] | None = None,
    ):
        self.members, self.hflip_tta, self.precision = members, hflip_tta, precision
        self.classes, self.weights = classes, weights or [1.0] * len(members)

    @property
    def image_sizes(self) -> list[int]:
        return sorted({size for _, size, _ in self.members})

    def logits(self, images_at: Callable[[int], torch.Tensor]) -> torch.Tensor:
        """images_at(size): the uint8 photos decoded at that size."""
        outputs, weights = [], []
        for (model, size, normalization), weight in zip(self.members, self.weights, strict=True):
            images = images_at(size)
            for view in [images, images.flip(-1)] if self.hflip_tta else [images]:
                outputs.append(predict_logits(model, view, normalization, self.precision))
                weights.append(weight)
        return outputs[0] if len(outputs) == 1 else average(outputs, weights)


def build(member: dict, precision: Precision, classes: list[str]) -> tuple[nn.Module, int, str]:
    # "weights": "none": the file holds every weight, so nothing is read from ImageNet files
    config = {**member["config"], "weights": "none"}
    model = build_model(member["model"], config, member["image_size"], num_classes=len(classes))
    model.load_state_dict(member["state_dict"])
    return precision.model(model).eval(), member["image_size"], member["normalization"]


def load(path: str | Path) -> tuple[Promoted, dict]:
    """Returns the model, ready to predict in the precision this CPU can compute, and its
    metadata."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--model {path}: no such file")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:200]
        raise UsageError(
            f"--model {path} is not a weights-only model file (refused to unpickle it: {reason}); "
            f"use a model.pt written by python -m tune.promote"
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise UsageError(
            f"--model {path} is not a model written by python -m tune.promote (format {FORMAT})"
        )
    computed_in, note = usable(saved.get("precision"))
    if note:
        print(f"Note: {note}", file=sys.stderr)
    # files written before a search could choose its model keep image_size and normalization at
    # the top; files written before classes were recorded are the smoking data set's
    classes = list(saved.get("classes") or SMOKING_CLASSES)
    members = saved["members"] if saved["model"] == "ensemble" else [saved]
    members = [
        {"image_size": saved.get("image_size"), "normalization": saved.get("normalization"), **m}
        for m in members
    ]
    built = [build(m, computed_in, classes) for m in members]
    weights = [m.get("weight", 1.0) for m in members]
    return Promoted(built, saved.get("hflip_tta", False), computed_in, classes, weights), saved
