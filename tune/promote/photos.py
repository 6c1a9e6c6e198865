"""The experiment's photos, split by split, at any model's input size, and a model's logits on
them: what every option is scored on."""

from pathlib import Path

import pandas as pd
import torch

from data_utils.images import decode_many
from data_utils.prepare import load_tensors
from models import INPUTS
from training.loop import predict_logits
from training.precision import usable
from tune import experiment
from tune.errors import UsageError
from tune.settings import Settings


class Photos:
    """The photos of each split at any input size (memory-mapped where the search decoded that
    size, decoded from the manifest once otherwise), and a model's logits on them in the
    precision this CPU computes."""

    def __init__(self, exp_dir: Path, exp: Settings):
        self.dataset_dir = Path(exp.dataset_dir)
        self.trial_settings = exp.trial_settings
        self.classes = experiment.classes(exp)
        self.precision, note = usable(self.trial_settings.precision)
        if note:
            print(f"Note: {note}")
        self.files = {
            inputs.image_size: exp_dir / inputs.tensors_file
            for inputs in self.trial_settings.inputs.values()
        }
        self.manifest = pd.read_csv(exp_dir / "manifest.csv")
        self.decoded = {}  # (size, split) -> images, for sizes the search did not decode
        self.first = next(iter(self.files.values()))
        self.val_y, self.test_y = self.labels("val"), self.labels("test")

    def labels(self, split: str) -> torch.Tensor:
        return load_tensors(self.first, split)[1]

    def images(self, size: int, split: str) -> torch.Tensor:
        if size in self.files:
            return load_tensors(self.files[size], split)[0]
        if (size, split) not in self.decoded:
            manifest = self.manifest
            usable_rows = manifest[(manifest["status"] == "ok") & (manifest["split"] == split)]
            images, errors = decode_many([self.dataset_dir / p for p in usable_rows["path"]], size)
            if errors:  # read when the search began: a photo changed or vanished since
                raise UsageError(f"{self.dataset_dir}: {len(errors)} photo(s) no longer decode")
            self.decoded[size, split] = torch.stack(images)
        return self.decoded[size, split]

    def logits(
        self, config: dict, model, views: bool, splits=("val", "test"), size: int | None = None
    ) -> dict:
        """{split: [logits on the photos, and on their mirror images if `views`]}, each photo at
        the model's input size (its trials', unless `size` says)."""
        name = config.get("model", self.trial_settings.model)
        size = size or self.trial_settings.inputs[name].image_size
        normalization = INPUTS[name][1]
        return {
            split: [
                predict_logits(model, view, normalization, self.precision)
                for view in ([x, x.flip(-1)] if views else [x])
            ]
            for split, x in ((s, self.images(size, s)) for s in splits)
        }
