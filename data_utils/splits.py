"""Turn scanned files into a fixed split manifest: file -> label -> split.

Split folders are used where they exist; a missing val or test split is carved, stratified by
class and seeded, out of the training images. The manifest is written with the experiment so
that every trial and the final test read exactly the same images.
"""

import pandas as pd
from sklearn.model_selection import train_test_split

from data_utils import DataError

SPLITS = ("train", "val", "test")


def assign_splits(
    files: pd.DataFrame, seed: int, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> pd.DataFrame:
    manifest = files.copy()
    manifest["status"] = "ok"
    unlabelled = manifest["label"].isna()
    manifest.loc[unlabelled, "status"] = "skipped: no class in its folder or file name"
    has_split_folders = manifest["split"].notna().any()
    if has_split_folders:
        outside = manifest["split"].isna() & ~unlabelled
        manifest.loc[outside, "status"] = "skipped: outside the split folders"
    else:
        manifest["split"] = "train"
    usable = manifest["status"] == "ok"
    present = set(manifest.loc[usable, "split"])
    for split, fraction in (("test", test_fraction), ("val", val_fraction)):
        if split in present:
            continue
        pool = manifest[usable & (manifest["split"] == "train")]
        if pool["label"].nunique() < 2 or len(pool) < 4:
            break  # check_manifest reports the real problem
        _, carved = train_test_split(
            pool.index, test_size=fraction, stratify=pool["label"], random_state=seed
        )
        manifest.loc[carved, "split"] = split
    manifest["label"] = manifest["label"].astype("Int64")
    return manifest


def take_subset(manifest: pd.DataFrame, per_class: int | None, seed: int) -> pd.DataFrame:
    """Keep at most `per_class` usable images per class in each split (for quick, real test
    searches)."""
    if not per_class:
        return manifest
    usable = manifest[manifest["status"] == "ok"]
    kept = usable.groupby(["split", "label"], group_keys=False).apply(
        lambda g: g.sample(n=min(per_class, len(g)), random_state=seed)
    )
    dropped = manifest.index.difference(kept.index)
    manifest = manifest.copy()
    manifest.loc[dropped.intersection(usable.index), "status"] = "skipped: not in the subset"
    return manifest


def check_manifest(manifest: pd.DataFrame, where: str) -> None:
    usable = manifest[manifest["status"] == "ok"]
    for split in SPLITS:
        labels = set(usable.loc[usable["split"] == split, "label"])
        if not labels:
            raise DataError(f"{where}: the {split} split has no usable images")
        if labels != {0, 1}:
            missing = "smoking" if 1 not in labels else "not smoking"
            raise DataError(
                f"{where}: the {split} split has no '{missing}' images; both classes are needed"
            )
