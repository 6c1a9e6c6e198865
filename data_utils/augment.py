"""Write an augmented, Roboflow-style export of any data set: \
`python -m data_utils.augment SOURCE OUT`.

The split is made on the source images first (split folders kept, missing splits carved,
stratified and seeded), and only training images get augmented copies, so no augmented twin of
a validation or test image can ever land in training. OUT/augment_manifest.csv records which
source every output came from. The same seed writes the same files.
"""

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd
import torch
from PIL import Image
from torchvision.transforms import v2

from data_utils import DataError
from data_utils.layout import classes_of, scan
from data_utils.splits import assign_splits, check_manifest

OUT_SPLITS = {"train": "train", "val": "valid", "test": "test"}
# a class keeps its name as its folder; the smoking data set's, as data set 2 always had them
CLASS_FOLDERS = {"smoking": "smoking", "not smoking": "not_smoking"}
# the seed report's Training_stageA_Augmented: each image plus copies rotated 10 and 20 degrees
PRESETS = {
    "report": {"angles": [10.0, 20.0]},
}


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m data_utils.augment", description=__doc__.splitlines()[0]
    )
    p.add_argument("source", help="a data set folder in any layout the data layer reads")
    p.add_argument("out", help="new folder for the export (must not exist yet)")
    p.add_argument(
        "--copies", type=int, default=3, help="augmented copies per training image (default 3)"
    )
    p.add_argument(
        "--rotate", type=float, default=15.0, help="random rotation, degrees (default 15)"
    )
    p.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    p.add_argument(
        "--color", type=float, default=0.3, help="colour jitter strength (default 0.3; 0 for none)"
    )
    p.add_argument(
        "--preset", choices=sorted(PRESETS), help="a fixed recipe instead of the random one"
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.copies < 0 or args.rotate < 0 or args.color < 0:
        p.error("--copies, --rotate and --color must not be negative")
    return args


def random_recipe(rotate: float, flip: bool, color: float) -> v2.Compose:
    steps = [v2.RandomRotation(rotate)] if rotate else []
    steps += [v2.RandomHorizontalFlip()] if flip else []
    steps += [v2.ColorJitter(brightness=color, contrast=color, saturation=color)] if color else []
    return v2.Compose(steps)


def export(
    source: Path, out: Path, copies: int, recipe, angles: list | None, seed: int
) -> pd.DataFrame:
    files = scan(source)
    manifest = assign_splits(files, seed, where=str(source))
    check_manifest(manifest, str(source), classes_of(files))
    rows = []
    for index, row in manifest[manifest["status"] == "ok"].reset_index(drop=True).iterrows():
        folder = out / OUT_SPLITS[row["split"]] / CLASS_FOLDERS.get(row["class"], row["class"])
        folder.mkdir(parents=True, exist_ok=True)
        stem = row["path"].replace("/", "__").rsplit(".", 1)[0]
        original = folder / f"{stem}{Path(row['path']).suffix.lower()}"
        shutil.copyfile(source / row["path"], original)
        rows.append(
            {
                "output": original.relative_to(out).as_posix(),
                "source": row["path"],
                "split": row["split"],
                "label": int(row["label"]),
                "augmentation": "original",
            }
        )
        if row["split"] != "train":
            continue
        with Image.open(source / row["path"]) as image:
            image = image.convert("RGB")
            variants = (
                [(f"rotate {a:g}", v2.functional.rotate(image, a)) for a in angles]
                if angles
                else []
            )
            if not angles:
                # each image's copies depend on the seed alone
                torch.manual_seed(seed * 1_000_003 + index)
                variants = [(f"random copy {k + 1}", recipe(image)) for k in range(copies)]
        for k, (how, variant) in enumerate(variants, 1):
            path = folder / f"{stem}_aug{k}.jpg"
            variant.save(path, quality=95)
            rows.append(
                {
                    "output": path.relative_to(out).as_posix(),
                    "source": row["path"],
                    "split": row["split"],
                    "label": int(row["label"]),
                    "augmentation": how,
                }
            )
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    source, out = Path(args.source), Path(args.out)
    if not source.is_dir():
        raise DataError(f"SOURCE {source} is not a folder")
    if out.exists():
        raise DataError(f"OUT {out} already exists: choose a new folder")
    if out.resolve().is_relative_to(source.resolve()):
        raise DataError(f"OUT {out} is inside SOURCE {source}: write the export elsewhere")
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    angles = PRESETS[args.preset]["angles"] if args.preset else None
    rows = export(
        source,
        staging,
        args.copies,
        random_recipe(args.rotate, not args.no_flip, args.color),
        angles,
        args.seed,
    )
    rows.to_csv(staging / "augment_manifest.csv", index=False)
    staging.rename(out)
    counts = (
        rows.groupby(["split", "augmentation"]).size().unstack(fill_value=0).sum(axis=1).to_dict()
    )
    print(
        f"Wrote {len(rows)} images to {out} ({', '.join(f'{k} {v}' for k, v in counts.items())}); "
        f"sources: {out / 'augment_manifest.csv'}"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
