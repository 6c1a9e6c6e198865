"""Find a data set under a data root and list its images with their labels and split folders.

One walk handles every layout we accept, because each file answers two questions on its own:
- its split: the first folder on its path named like a split (train/training, val/valid/
  validation, test/testing, any case), so `Training/Training/x.jpg` and `train/x.jpg` both work;
- its class: the folder after its split folder, or its first folder (`cats/`, `train/dogs/`:
  any name), else, for the Smoker Detection Dataset's files, the file-name prefix
  (`smoking_0001.jpg`, `notsmoking_0001.jpg`).
A file with neither is listed with no class (and skipped). The classes are the names found,
sorted; labels are their indices. Names that all read as smoking / not smoking (`Smokers/`,
`notsmoking_*`) are that data set's two classes, "not smoking" (0) and "smoking" (1), as always.
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


SMOKING_CLASSES = ("not smoking", "smoking")  # the Smoker Detection Dataset's, label = index


def label_from_name(name: str) -> int | None:
    """0 (not smoking) or 1 (smoking) for a name that reads as one of them, else None."""
    key = re.sub(r"[^a-z]", "", name.lower())
    if key.startswith(("notsmok", "nonsmok")):
        return 0
    if key.startswith("smok"):
        return 1
    return None


def class_of(path: Path, dataset_dir: Path) -> str | None:
    """The folder after the last split folder on the path (else the first folder), else the
    Smoker Detection Dataset's file-name prefix, else None."""
    folders = path.relative_to(dataset_dir).parts[:-1]
    splits = [i for i, f in enumerate(folders) if f.lower() in SPLIT_NAMES]
    after = folders[splits[-1] + 1 :] if splits else folders
    if after:
        return after[0]
    smoking = label_from_name(path.stem)
    return SMOKING_CLASSES[smoking] if smoking is not None else None


def classes_of(files: pd.DataFrame) -> list[str]:
    """The data set's classes, sorted: its class names, or the smoking data set's two."""
    found = sorted(files["class"].dropna().unique())
    return list(SMOKING_CLASSES) if found and set(found) <= set(SMOKING_CLASSES) else found


def canonical(name: str | None, names: list[str]) -> str | None:
    """Names that all read as smoking / not smoking (`Smokers/`, `not_smoking/`) are the smoking
    data set's two classes; any other set of names is taken as it is."""
    if name is None or any(label_from_name(n) is None for n in names):
        return name
    return SMOKING_CLASSES[label_from_name(name)]


def scan(dataset_dir: Path) -> pd.DataFrame:
    """One row per file: path (relative), class and label (its index in `classes_of`; None for
    a file in no class), split folder (or None)."""
    rows = []
    for path in sorted(p for p in dataset_dir.rglob("*") if p.is_file()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        folders = path.relative_to(dataset_dir).parts[:-1]
        split = next((SPLIT_NAMES[f.lower()] for f in folders if f.lower() in SPLIT_NAMES), None)
        rows.append(
            {
                "path": path.relative_to(dataset_dir).as_posix(),
                "class": class_of(path, dataset_dir),
                "split": split,
            }
        )
    files = pd.DataFrame(rows, columns=["path", "class", "split"])
    if files.empty:
        raise DataError(
            f"no images found in {dataset_dir}: expected .jpg/.png files in split or class folders"
        )
    names = sorted(files["class"].dropna().unique())
    files["class"] = files["class"].map(lambda name: canonical(name, names))
    index = {name: i for i, name in enumerate(classes_of(files))}
    files.insert(2, "label", files["class"].map(index))
    return files
