"""Decode each image once into a resized RGB uint8 tensor; unreadable files are reported, not
fatal."""

from pathlib import Path

import pandas as pd
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F
from tqdm import tqdm

from data_utils import DataError
from data_utils.splits import SPLITS


def load_image(path: Path, size: int) -> torch.Tensor:
    """Any mode (RGB, L, RGBA, P) and size -> 3 x size x size uint8."""
    with Image.open(path) as img:
        img.draft("RGB", (size, size))  # JPEG: let the decoder shrink huge photos cheaply
        img = img.convert("RGB").resize((size, size), Image.BILINEAR)
        return F.pil_to_tensor(img)


def decode_many(paths: list[Path], size: int, say=print) -> tuple[list, dict]:
    """Images that decode, in order (None where one does not), and {path: why} for those that
    don't, which `say` lists in one line."""
    images, errors = [], {}
    # a bar on a terminal only
    for path in tqdm(paths, desc="Decoding photos", unit="img", leave=False, disable=None):
        try:
            images.append(load_image(path, size))
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            images.append(None)
            errors[path] = f"{type(error).__name__}: {error}"
    if errors:
        say(f"Skipped {len(errors)} unreadable image(s): " + ", ".join(str(p) for p in errors))
    return images, errors


def decode_at_sizes(
    paths: list[Path], sizes: list[int], say=print
) -> tuple[dict, list[Path], dict]:
    """The readable images at each size ({size: N x 3 x size x size}, for models of several input
    sizes), which paths those are, and {path: why} for the others."""
    images, errors = decode_many(paths, sizes[0], say)
    readable = [path for path in paths if path not in errors]
    if not readable:
        return {}, [], errors
    by_size = {sizes[0]: torch.stack([image for image in images if image is not None])}
    for size in sizes[1:]:
        by_size[size] = torch.stack([load_image(path, size) for path in readable])
    return by_size, readable, errors


def decode_splits(
    manifest: pd.DataFrame, dataset_dir: Path, size: int
) -> tuple[pd.DataFrame, dict]:
    """Returns the manifest with unreadable files marked, and {split: (images, labels)}."""
    manifest = manifest.copy()
    usable = manifest[manifest["status"] == "ok"]
    images, errors = decode_many([dataset_dir / p for p in usable["path"]], size)
    tensors = {split: ([], []) for split in SPLITS}
    for (index, row), image in zip(usable.iterrows(), images, strict=True):
        if image is None:
            manifest.loc[index, "status"] = f"unreadable: {errors[dataset_dir / row['path']]}"
            continue
        tensors[row["split"]][0].append(image)
        tensors[row["split"]][1].append(int(row["label"]))
    out = {}
    for split, (images, labels) in tensors.items():
        if not images:
            raise DataError(f"{dataset_dir}: the {split} split has no readable images")
        out[split] = (torch.stack(images), torch.tensor(labels, dtype=torch.float32))
    return manifest, out
