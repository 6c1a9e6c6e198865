"""Augmentation and normalisation on uint8 tensor batches, so no epoch decodes a JPEG again."""

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

# The report normalised its CNN input to [-1, 1] and ResNet18's with ImageNet statistics.
NORMALIZATIONS = {
    "half": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
}
OFFLINE_ANGLES = (10.0, 20.0)  # the report's Training_stageA_Augmented: +10 and +20 degree copies


def normalization_of(mean, std) -> str:
    """The name of a normalisation by its statistics: a key of NORMALIZATIONS, or
    "mean=a,b,c;std=d,e,f" for any other (a timm model's own)."""
    mean, std = [float(m) for m in mean], [float(s) for s in std]
    for name, known in NORMALIZATIONS.items():
        if known == (mean, std):
            return name
    return f"mean={','.join(map(str, mean))};std={','.join(map(str, std))}"


def statistics(normalization: str) -> tuple[list[float], list[float]]:
    """(mean, std) of a normalisation's name (normalization_of)."""
    if normalization in NORMALIZATIONS:
        return NORMALIZATIONS[normalization]
    mean, std = (part.split("=")[1].split(",") for part in normalization.split(";"))
    return [float(m) for m in mean], [float(s) for s in std]


def to_float(batch: torch.Tensor, normalization: str) -> torch.Tensor:
    mean, std = statistics(normalization)
    return F.normalize(batch.float().div_(255), mean, std)


def random_rotation(
    batch: torch.Tensor, degrees: float, generator: torch.Generator
) -> torch.Tensor:
    """RandomRotation(degrees) with its own angle for every image (torchvision's draws one per
    call)."""
    if degrees <= 0:
        return batch
    angles = (torch.rand(len(batch), generator=generator) * 2 - 1) * degrees
    return torch.stack(
        [F.rotate(image, float(angle)) for image, angle in zip(batch, angles, strict=True)]
    )


def add_rotated_copies(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
    """Each image, plus one copy rotated by 10 and one by 20 degrees (each with a random sign): 3x
    the data."""
    copies, copy_labels = [images], [labels]
    for angle in OFFLINE_ANGLES:
        signs = torch.randint(0, 2, (len(images),), generator=generator) * 2 - 1
        copies.append(
            torch.stack(
                [
                    F.rotate(image, angle * float(sign))
                    for image, sign in zip(images, signs, strict=True)
                ]
            )
        )
        copy_labels.append(labels)
    return torch.cat(copies), torch.cat(copy_labels)


def augment(batch: torch.Tensor, config: dict, generator: torch.Generator) -> torch.Tensor:
    """A training batch through the augmentations its config asks for: the report's rotation, then
    torchvision's RandomResizedCrop (`crop_scale`: the smallest share of the area kept; 1 = off),
    RandomHorizontalFlip (`hflip`) and ColorJitter (`color_jitter`: brightness, contrast and
    saturation factors in 1 +- it). torchvision draws from the global generator, so each image's
    draws are seeded from the trial's own: a resumed trial draws what it would have, and a config
    without the new ones draws exactly what the report's rotation alone did."""
    batch = random_rotation(batch, config.get("rotation", 0.0), generator)
    transform = torchvision_augmentations(config, batch.shape[-1])
    if transform is None:
        return batch
    seeds = torch.randint(0, 2**62, (len(batch),), generator=generator)
    with torch.random.fork_rng(devices=[]):
        out = []
        for image, seed in zip(batch, seeds, strict=True):
            torch.manual_seed(int(seed))
            out.append(transform(image))
    return torch.stack(out)


def torchvision_augmentations(config: dict, size: int) -> v2.Compose | None:
    steps = []
    if config.get("crop_scale", 1.0) < 1.0:
        steps.append(v2.RandomResizedCrop(size, scale=(config["crop_scale"], 1.0), antialias=True))
    if config.get("hflip"):
        steps.append(v2.RandomHorizontalFlip())
    if config.get("color_jitter", 0.0) > 0:
        jitter = config["color_jitter"]
        steps.append(v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter))
    return v2.Compose(steps) if steps else None
