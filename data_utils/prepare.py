"""The whole data step of a search: find, scan, split, decode once, save for every trial."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from data_utils.images import decode_splits
from data_utils.layout import classes_of, find_dataset, scan
from data_utils.splits import assign_splits, check_manifest, take_subset


@dataclass
class PreparedData:
    dataset_dir: Path
    manifest: pd.DataFrame  # every file found, with class, label, split and status
    image_size: int
    tensors: dict  # {split: (uint8 images N x 3 x S x S, float labels N: class indices)}
    classes: list  # the class names, label = index

    def sizes(self) -> dict:
        return {split: len(labels) for split, (_, labels) in self.tensors.items()}

    def at_size(self, size: int) -> dict:
        """The same images decoded at another size (for a search whose models differ in input
        size)."""
        return (
            self.tensors
            if size == self.image_size
            else decode_splits(self.manifest, self.dataset_dir, size)[1]
        )


def save_tensors(tensors: dict, path: Path) -> None:
    """{split: (images, labels)} as one file that load_tensors memory-maps."""
    torch.save(
        {
            f"{split}_{kind}": t
            for split, pair in tensors.items()
            for kind, t in zip(("images", "labels"), pair, strict=True)
        },
        path,
    )


def prepare(
    data_root: Path, dataset: str, image_size: int, seed: int, subset_per_class: int | None = None
) -> PreparedData:
    dataset_dir = find_dataset(data_root, dataset)
    files = scan(dataset_dir)
    classes = classes_of(files)
    unclassed = int(files["label"].isna().sum())
    if unclassed:
        print(f"Skipped {unclassed} image(s) in no class folder (listed in the manifest)")
    manifest = assign_splits(files, seed, where=str(dataset_dir))
    manifest = take_subset(manifest, subset_per_class, seed)
    check_manifest(manifest, str(dataset_dir), classes)
    manifest, tensors = decode_splits(manifest, dataset_dir, image_size)
    check_manifest(manifest, str(dataset_dir), classes)
    return PreparedData(dataset_dir, manifest, image_size, tensors, classes)


def load_tensors(tensors_path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of a saved tensors file, memory-mapped (read only what is used)."""
    saved = torch.load(tensors_path, mmap=True, weights_only=True)
    return saved[f"{split}_images"], saved[f"{split}_labels"]


def load_splits(tensors_path: Path, splits=("train", "val")) -> dict:
    """{split: (images, labels)}: what training needs (never the test split unless asked)."""
    return {split: load_tensors(tensors_path, split) for split in splits}
