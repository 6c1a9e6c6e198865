"""Frozen backbones train on cached features.

A frozen pretrained backbone (in eval mode: its batch-norm statistics stay ImageNet's) gives an
image the same pooled features every epoch, so a search computes them once, before its first
trial: for every validation image, and for every training image under a fixed set of rotated
views (VIEW_ANGLES). Each epoch a trial draws, per image, the view nearest to the rotation its
config asks for (its base angle, plus a uniform draw within `rotation`), so `rotation` and the
report's `offline_rotations` keep their meaning. Only the head trains. One cache serves every
frozen trial of a search.
"""

import torch
from torchvision.transforms.v2 import functional as F

from data_utils.transforms import OFFLINE_ANGLES, to_float
from models import CACHED_FEATURES, INPUTS, build_model
from training.precision import Precision

VIEW_ANGLES = (-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0)


@torch.no_grad()
def pooled(
    model,
    model_name: str,
    images: torch.Tensor,
    precision: Precision,
    angle: float = 0.0,
    batch_size: int = 64,
) -> torch.Tensor:
    """A frozen backbone's pooled features (fp32) of uint8 images, each rotated by `angle` degrees
    first."""
    normalization, pooled_features = INPUTS[model_name][1], CACHED_FEATURES[model_name][0]
    out = []
    for i in range(0, len(images), batch_size):
        batch = images[i : i + batch_size]
        if angle:
            batch = F.rotate(batch, angle)
        with precision.autocast():
            out.append(
                pooled_features(model, precision.batch(to_float(batch, normalization))).float()
            )
    return torch.cat(out)


def extract(
    model_name: str,
    image_size: int,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    precision: Precision,
    imagenet: dict | None = None,
    progress=print,
) -> dict:
    """{"train": N x views x D, "val": M x D, "angles": the views' rotation in degrees}, all
    fp32."""
    model = build_model(
        model_name, {"weights": "imagenet", "freeze_backbone": True}, image_size, imagenet
    )
    model = precision.model(model).eval()
    views = []
    for angle in VIEW_ANGLES:
        views.append(pooled(model, model_name, train_x, precision, angle))
        progress(
            f"  features: training images rotated {angle:+.0f} degrees "
            f"({len(views)}/{len(VIEW_ANGLES)} views)"
        )
    return {
        "train": torch.stack(views, dim=1),
        "val": pooled(model, model_name, val_x, precision),
        "angles": torch.tensor(VIEW_ANGLES),
    }


class TrainingViews:
    """The training set of one cached trial: each image once, plus the report's +-10 and +-20
    degree copies when `offline_rotations` is on (signs drawn as data_utils.transforms draws
    them)."""

    def __init__(
        self, features: dict, labels: torch.Tensor, config: dict, generator: torch.Generator
    ):
        self.train, self.angles, self.rotation = (
            features["train"],
            features["angles"],
            config.get("rotation", 0.0),
        )
        n = len(labels)
        self.image, self.base, self.labels = torch.arange(n), torch.zeros(n), labels
        if config.get("offline_rotations"):
            for angle in OFFLINE_ANGLES:
                signs = torch.randint(0, 2, (n,), generator=generator) * 2 - 1
                self.image = torch.cat([self.image, torch.arange(n)])
                self.base = torch.cat([self.base, angle * signs.float()])
            self.labels = labels.repeat(1 + len(OFFLINE_ANGLES))

    def __len__(self) -> int:
        return len(self.labels)

    def batch(
        self, index: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        wanted = (
            self.base[index] + (torch.rand(len(index), generator=generator) * 2 - 1) * self.rotation
        )
        view = (wanted[:, None] - self.angles[None, :]).abs().argmin(dim=1)
        return self.train[self.image[index], view], self.labels[index]
