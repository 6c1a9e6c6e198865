"""The trials promoted (the winner, and the next best for an ensemble): each one's row, config,
the checkpoint Ray kept at its best epoch, and the network loaded from it."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from models import build_model
from training.loop import CHECKPOINT_FILE
from tune import trial_inputs
from tune.experiment import Experiment
from tune.settings import Settings


def load_checkpoint_model(exp: Settings, config: dict, checkpoint):
    """The model saved in a ray.tune.Checkpoint (local or in remote storage)."""
    settings = trial_inputs.for_trial(config, exp.trial_settings)
    config, size = {**config, "weights": "none"}, settings.image_size
    model = build_model(settings.model, config, size, num_classes=settings.classes)
    with checkpoint.as_directory() as folder:
        model.load_state_dict(
            torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True)["model"]
        )
    return model.eval()


@dataclass
class Member:
    """A promoted trial: its row of the trial table, its config, the ray.tune.Checkpoint Ray kept
    at its best epoch, and the network loaded from it (or, after --refit, retrained)."""

    row: pd.Series
    config: dict
    checkpoint: object
    model: torch.nn.Module

    @property
    def trial(self) -> int:
        return int(self.row["trial"])

    @property
    def trial_id(self) -> str:
        return self.row["trial_id"]


def load_trial(opened: Experiment, row: pd.Series) -> Member:
    """A row of the trial table as a Member: the checkpoint Ray kept, the model saved there."""
    config, checkpoint = opened.best_checkpoint(row["trial_id"])
    return Member(
        row, config, checkpoint, load_checkpoint_model(opened.settings, config, checkpoint)
    )


def load_members(opened: Experiment, winner: pd.Series, count: int) -> list[Member]:
    """The winner and the next best trials, up to `count`."""
    table = opened.table()
    others = table[(table["epochs"] > 0) & (table["trial_id"] != winner["trial_id"])]
    rows = [winner] + [row for _, row in others.head(count - 1).iterrows()]
    return [load_trial(opened, row) for row in rows]
