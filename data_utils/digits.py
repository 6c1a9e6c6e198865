"""A real multi-class data set that needs no download: scikit-learn's handwritten digits
(`sklearn.datasets.load_digits`: 1,797 8x8 greyscale scans of the digits 0-9, UCI's "Optical
Recognition of Handwritten Digits"), written as class folders the data layer reads like any
photos: `python -m data_utils.digits DATA_ROOT` makes DATA_ROOT/digits/<0-9>/<n>.png, then
`python -m tune.run --space smoke --dataset digits --data-root DATA_ROOT` searches on it."""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def export(folder: Path, per_class: int | None = None) -> int:
    """Writes each scan as an 8-bit PNG (its 0-16 grey levels scaled to 0-255) in the folder of
    its digit; at most `per_class` per digit (the first ones). Returns how many it wrote."""
    digits = load_digits()
    written = {}
    for index, (pixels, target) in enumerate(zip(digits.images, digits.target, strict=True)):
        if per_class and written.get(target, 0) >= per_class:
            continue
        out = folder / str(target)
        out.mkdir(parents=True, exist_ok=True)
        grey = np.round(pixels * 255 / 16).astype(np.uint8)
        Image.fromarray(grey, mode="L").save(out / f"{index:04d}.png")
        written[target] = written.get(target, 0) + 1
    return sum(written.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_utils.digits", description=__doc__)
    p.add_argument("data_root", help="the data root to write digits/ into")
    p.add_argument("--per-class", type=int, help="at most this many scans per digit")
    args = p.parse_args(argv)
    folder = Path(args.data_root) / "digits"
    if folder.exists():
        p.error(f"{folder} exists already: remove it or choose another data root")
    count = export(folder, args.per_class)
    print(f"Wrote {count} images of 10 classes (0-9) to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
