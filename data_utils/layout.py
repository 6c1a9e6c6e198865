"""Find a data set under a data root and list its images with their labels and split folders.

One walk handles every layout we accept, because each file answers two questions on its own:
- its split: the first folder on its path named like a split (train/training, val/valid/
  validation, test/testing, any case), so `Training/Training/x.jpg` and `train/x.jpg` both work;
- its label: the nearest folder named like a class (`smoking/`, `not smoking/`), else the
  file-name prefix (`smoking_0001.jpg`, `notsmoking_0001.jpg`). 1 = smoking, 0 = not smoking.
"""

import os
import re
from pathlib import Path

import pandas as pd

from data_utils import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
HOW_TO_GET_DATA = (
    "download the Smoker Detection Dataset (doi:10.17632/j45dj8bgfc.1) and unpack it "
    "there, or point --data-root / $TUNE_DATA_ROOT at the folder that holds it"
)


def resolve_data_root(flag: str | None) -> Path:
    """--data-root, else $TUNE_DATA_ROOT, else ./data."""
    return Path(flag or os.environ.get("TUNE_DATA_ROOT") or "data")


def find_dataset(data_root: Path, name: str) -> Path:
    if not data_root.exists():
        raise DataError(f"data root {data_root} does not exist: {HOW_TO_GET_DATA}")
    if not data_root.is_dir():
        raise DataError(
            f"data root {data_root} is a file, not a folder: point --data-root / $TUNE_DATA_ROOT "
            f"at the folder that holds the data sets"
        )
    path = data_root / name
    if not path.is_dir():
        present = sorted(p.name for p in data_root.iterdir() if p.is_dir())
        raise DataError(
            f"data set {name!r} not found in {data_root} (it "
            f"has: {', '.join(present) or 'nothing'}): {HOW_TO_GET_DATA}"
        )
    return path


def label_from_name(name: str) -> int | None:
    key = re.sub(r"[^a-z]", "", name.lower())
    if key.startswith(("notsmok", "nonsmok")):
        return 0
    if key.startswith("smok"):
        return 1
    return None


def scan(dataset_dir: Path) -> pd.DataFrame:
    """One row per file: path (relative), label (or None), split folder (or None)."""
    rows = []
    for path in sorted(p for p in dataset_dir.rglob("*") if p.is_file()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        folders = path.relative_to(dataset_dir).parts[:-1]
        split = next((SPLIT_NAMES[f.lower()] for f in folders if f.lower() in SPLIT_NAMES), None)
        label = next(
            (label_from_name(f) for f in reversed(folders) if label_from_name(f) is not None),
            label_from_name(path.stem),
        )
        rows.append(
            {"path": path.relative_to(dataset_dir).as_posix(), "label": label, "split": split}
        )
    files = pd.DataFrame(rows, columns=["path", "label", "split"])
    if files.empty:
        raise DataError(
            f"no images found in {dataset_dir}: expected .jpg/.png files in split or class folders"
        )
    return files
