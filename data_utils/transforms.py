"""Augmentation and normalisation on uint8 tensor batches, so no epoch decodes a JPEG again."""
import torch
from torchvision.transforms.v2 import functional as F

# The report normalised its CNN input to [-1, 1] and ResNet18's with ImageNet statistics.
NORMALIZATIONS = {
    "half": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
}
OFFLINE_ANGLES = (10.0, 20.0)  # the report's Training_stageA_Augmented: +10 and +20 degree copies


def to_float(batch: torch.Tensor, normalization: str) -> torch.Tensor:
    mean, std = NORMALIZATIONS[normalization]
    return F.normalize(batch.float().div_(255), mean, std)


def random_rotation(batch: torch.Tensor, degrees: float, generator: torch.Generator) -> torch.Tensor:
    """RandomRotation(degrees) with its own angle for every image (torchvision's draws one per call)."""
    if degrees <= 0:
        return batch
    angles = (torch.rand(len(batch), generator=generator) * 2 - 1) * degrees
    return torch.stack([F.rotate(image, float(angle)) for image, angle in zip(batch, angles)])


def add_rotated_copies(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
    """Each image, plus one copy rotated by 10 and one by 20 degrees (each with a random sign): 3x the data."""
    copies, copy_labels = [images], [labels]
    for angle in OFFLINE_ANGLES:
        signs = torch.randint(0, 2, (len(images),), generator=generator) * 2 - 1
        copies.append(torch.stack([F.rotate(image, angle * float(sign)) for image, sign in zip(images, signs)]))
        copy_labels.append(labels)
    return torch.cat(copies), torch.cat(copy_labels)
