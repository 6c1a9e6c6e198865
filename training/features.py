"""Frozen backbones, and the frozen part of partially fine-tuned ones, train on cached
activations.

A frozen pretrained backbone (in eval mode: its batch-norm statistics stay ImageNet's) gives an
image the same output every pass, so a search computes it once: for every validation image, and
for every training image under a fixed set of views (VIEWS: rotated by -10, 0 or +10 degrees,
mirrored or not). One forward pass per view gives both what frozen trials train their head on
(the pooled features) and, where the space searches `unfrozen_stages` up to K, what partial
trials train their last stages on (the input of stage 7 - K, stored in fp16: NumPy, which Ray's
object store shares, has no bf16, and fp16 halves the memory of fp32).

Each pass a trial draws, per image, the view nearest to what its config asks for: its base angle
(the report's offline copies) plus a uniform draw within `rotation`, mirrored with probability
one half when `hflip` is on. So `rotation`, `hflip` and `offline_rotations` keep their meaning,
at the views' resolution (10 degrees). What a cached trial cannot do that a full one can: colour
jitter, random crops, rotations between or beyond the views. Only what trains runs.
"""

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torchvision.transforms.v2 import functional as F

from data_utils.transforms import OFFLINE_ANGLES, to_float
from models import CACHED_FEATURES, INPUTS, PARTIAL, build_model
from training.precision import Precision

VIEW_ANGLES = (-10.0, 0.0, 10.0)
VIEWS = tuple((angle, mirrored) for mirrored in (False, True) for angle in VIEW_ANGLES)
CUT_DTYPE = torch.float16


def view(batch: torch.Tensor, angle: float, mirrored: bool) -> torch.Tensor:
    batch = F.rotate(batch, angle) if angle else batch
    return F.horizontal_flip(batch) if mirrored else batch


def cut_key(split: str, stages: int) -> str:
    """The cache's key of the input of the last `stages` stages: "train_cut2", "val_cut1", ..."""
    return f"{split}_cut{stages}"


@torch.no_grad()
def pooled(
    model,
    model_name: str,
    images: torch.Tensor,
    precision: Precision,
    angle: float = 0.0,
    batch_size: int = 64,
    mirrored: bool = False,
    cut_stages: int = 0,
):
    """A frozen backbone's pooled features (fp32) of uint8 images, each rotated by `angle`
    degrees (and mirrored) first; with `cut_stages` K, (pooled, {k: the input of its last k
    stages, in CUT_DTYPE} for k = 1..K)."""
    normalization = INPUTS[model_name][1]
    out, cuts = [], {k: [] for k in range(1, cut_stages + 1)}
    for i in range(0, len(images), batch_size):
        x = view(images[i : i + batch_size], angle, mirrored)
        x = precision.batch(to_float(x, normalization))
        with precision.autocast():
            if cut_stages:
                stages, activations = PARTIAL[model_name]
                inputs, features = activations(model, x, [stages - k for k in cuts])
                for k in cuts:
                    cuts[k].append(inputs[stages - k].to(CUT_DTYPE).contiguous())
            else:
                features = CACHED_FEATURES[model_name][0](model, x)
        out.append(features.float())
    if not cut_stages:
        return torch.cat(out)
    return torch.cat(out), {k: torch.cat(parts) for k, parts in cuts.items()}


def extract(
    model_name: str,
    image_size: int,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    precision: Precision,
    imagenet: dict | None = None,
    progress=print,
    cut_stages: int = 0,
) -> dict:
    """{"train": N x views x D, "val": M x D, "angles" and "mirrored": the views}, fp32; with
    `cut_stages` K, for each k = 1..K also "train_cutk" (N x views x C x H x W) and "val_cutk",
    the input of the last k stages, and "cut_stages": K."""
    model = build_model(
        model_name, {"weights": "imagenet", "freeze_backbone": True}, image_size, imagenet
    )
    model = precision.model(model).eval()
    train, train_cuts = [], []
    for angle, mirrored in VIEWS:
        out = pooled(
            model, model_name, train_x, precision, angle, mirrored=mirrored, cut_stages=cut_stages
        )
        train.append(out[0] if cut_stages else out)
        train_cuts.append(out[1] if cut_stages else {})
        progress(
            f"  activations: training images rotated {angle:+.0f} degrees"
            f"{', mirrored' if mirrored else ''} ({len(train)}/{len(VIEWS)} views)"
        )
    val = pooled(model, model_name, val_x, precision, cut_stages=cut_stages)
    cache = {
        "train": torch.stack(train, dim=1),
        "val": val[0] if cut_stages else val,
        "angles": torch.tensor([angle for angle, _ in VIEWS]),
        "mirrored": torch.tensor([mirrored for _, mirrored in VIEWS]),
    }
    for k in range(1, cut_stages + 1):
        cache[cut_key("train", k)] = torch.stack([cuts[k] for cuts in train_cuts], dim=1)
        cache[cut_key("val", k)] = val[1][k]
    if cut_stages:
        cache["cut_stages"] = torch.tensor(cut_stages)
    return cache


def load_or_build(path: Path, build: Callable[[], dict]) -> dict:
    """The cache at `path`, built by the first process that needs it, once: the others wait on
    a lock beside it (released by the kernel if its holder dies, so a kill -9 mid-build leaves
    only a .tmp that the next builder overwrites). Written whole, then renamed; read
    memory-mapped, so the trials on a machine share one copy in the page cache."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            partial = path.with_name(path.name + ".tmp")
            try:
                torch.save(build(), partial)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
    return torch.load(path, weights_only=True, mmap=True)


def building(path: Path) -> bool:
    """Whether some process is building the cache at `path` now (holds its lock)."""
    try:
        with open(path.with_name(path.name + ".lock")) as lock:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except FileNotFoundError:
        return False
    except BlockingIOError:
        return True
    return False


class TrainingViews:
    """The training set of one cached trial: each image once, plus the report's +-10 and +-20
    degree copies when `offline_rotations` is on (signs drawn as data_utils.transforms draws
    them). `source`: "train" (pooled features) or a `cut_key` (a stage's input)."""

    def __init__(
        self,
        features: dict,
        labels: torch.Tensor,
        config: dict,
        generator: torch.Generator,
        source: str = "train",
    ):
        self.train, self.angles = features[source], features["angles"]
        # caches from before mirrored views: every view unmirrored
        self.mirrored = features.get("mirrored", torch.zeros(len(self.angles), dtype=torch.bool))
        self.rotation, self.hflip = config.get("rotation", 0.0), bool(config.get("hflip"))
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
        distance = (wanted[:, None] - self.angles[None, :]).abs()
        if self.hflip:  # a view of the other side is never the nearest
            mirror = torch.rand(len(index), generator=generator) < 0.5
            distance = distance + 1e3 * (mirror[:, None] != self.mirrored[None, :])
        else:
            distance = distance + 1e3 * self.mirrored[None, :]
        view = distance.argmin(dim=1)
        return self.train[self.image[index], view], self.labels[index]
