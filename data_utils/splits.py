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
    files: pd.DataFrame,
    seed: int,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    where: str = "the data set",
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
    wanted = (("test", test_fraction), ("val", val_fraction))
    carve = [(split, fraction) for split, fraction in wanted if split not in present]
    check_enough_to_carve(manifest[usable & (manifest["split"] == "train")], len(carve), where)
    for split, fraction in carve:
        pool = manifest[usable & (manifest["split"] == "train")]
        if pool["label"].nunique() < 2 or len(pool) < 4:
            break  # check_manifest reports the real problem
        # at least one image of each class (stratified), however small the fraction
        size = max(fraction, pool["label"].nunique() / len(pool))
        _, carved = train_test_split(
            pool.index, test_size=size, stratify=pool["label"], random_state=seed
        )
        manifest.loc[carved, "split"] = split
    manifest["label"] = manifest["label"].astype("Int64")
    return manifest


def check_enough_to_carve(train: pd.DataFrame, splits: int, where: str) -> None:
    """Each class needs an image in every split carved out of its training images, and one left
    to train on: a class with fewer is named in one line."""
    if not splits:
        return
    for name, count in train.groupby("class")["path"].count().items():
        if count < splits + 1:
            raise DataError(
                f"{where}: class {name!r} has {count} training image(s): it needs at least "
                f"{splits + 1} (one to train on, one for each split carved out of them)"
            )


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


def check_manifest(manifest: pd.DataFrame, where: str, classes: list[str]) -> None:
    """Two or more classes, each in every split."""
    usable = manifest[manifest["status"] == "ok"]
    if len(classes) < 2:
        found = f"only one class ({classes[0]!r})" if classes else "no class"
        raise DataError(
            f"{where}: {found}; two or more are needed, each in a folder of its own "
            f"(e.g. cats/, dogs/)"
        )
    for split in SPLITS:
        labels = set(usable.loc[usable["split"] == split, "label"])
        if not labels:
            raise DataError(f"{where}: the {split} split has no usable images")
        missing = [name for i, name in enumerate(classes) if i not in labels]
        if missing:
            every = "both classes are" if len(classes) == 2 else "every class is"
            raise DataError(
                f"{where}: the {split} split has no '{missing[0]}' images; {every} needed"
            )
