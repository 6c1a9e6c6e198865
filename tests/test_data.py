"""The data layer on real photos: every layout, splits, image modes, unreadable files."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA_ROOT, REPO, copy_photos, real_photos
from PIL import Image

from data_utils import DataError
from data_utils.layout import find_dataset, scan
from data_utils.prepare import prepare
from data_utils.splits import assign_splits


def test_public_layout_of_the_real_data_set():
    files = scan(DATA_ROOT / "smoker_detection")
    assert len(files) == 896
    counts = files.groupby(["split", "label"]).size().to_dict()
    assert counts == {("train", 0): 358, ("train", 1): 358, ("val", 0): 90, ("val", 1): 90}


def test_class_folders_without_splits_are_split_three_ways(tmp_path):
    copy_photos(real_photos("smoking", 20), tmp_path / "ds" / "smoking")
    copy_photos(
        real_photos("notsmoking", 20),
        tmp_path / "ds" / "not smoking",
        rename=lambda p: "img" + p.name[10:],
    )
    data = prepare(tmp_path, "ds", 32, seed=0)
    usable = data.manifest[data.manifest.status == "ok"]
    assert set(usable.split) == {"train", "val", "test"}
    per_class = usable.groupby(["split", "label"]).size().unstack()
    assert ((per_class[0] - per_class[1]).abs() <= 1).all()  # stratified
    assert sum(data.sizes().values()) == 40


@pytest.mark.parametrize(
    "train,val",
    [("train", "val"), ("Training/Training", "Validation/Validation"), ("TRAIN", "valid")],
)
def test_split_folders_holding_class_folders(tmp_path, train, val):
    for split, n in ((train, 10), (val, 4)):
        copy_photos(
            real_photos("smoking", n),
            tmp_path / "ds" / split / "smoking",
            rename=lambda p: p.name[8:],
        )
        copy_photos(
            real_photos("notsmoking", n),
            tmp_path / "ds" / split / "notsmoking",
            rename=lambda p: p.name[11:],
        )
    data = prepare(tmp_path, "ds", 32, seed=0)
    assert data.sizes() == {"train": 16, "val": 8, "test": 4}  # test carved from train


def test_existing_test_folder_is_used_and_not_carved(tmp_path):
    for split, n in (("training", 8), ("validation", 3), ("testing", 3)):
        for label in ("smoking", "notsmoking"):
            copy_photos(real_photos(label, n), tmp_path / "ds" / split)
    assert prepare(tmp_path, "ds", 32, seed=0).sizes() == {"train": 16, "val": 6, "test": 6}


def test_split_is_deterministic_for_a_seed_and_changes_with_it(prefix_layout):
    files = scan(prefix_layout / "ds")
    first, again = assign_splits(files, seed=1), assign_splits(files, seed=1)
    pd.testing.assert_frame_equal(first, again)
    assert not assign_splits(files, seed=2).split.equals(first.split)


def test_test_split_is_disjoint_from_the_others(prefix_layout):
    manifest = prepare(prefix_layout, "ds", 32, seed=0).manifest
    assert manifest.path.is_unique
    assert set(manifest[manifest.split == "test"].path).isdisjoint(
        manifest[manifest.split != "test"].path
    )


def test_any_mode_and_size_becomes_rgb(prefix_layout):
    folder = prefix_layout / "ds" / "Training" / "Training"
    photo = Image.open(real_photos("smoking", 1)[0])
    photo.convert("L").save(folder / "smoking_gray.png")
    photo.convert("RGBA").save(folder / "smoking_rgba.png")
    photo.convert("P").save(folder / "smoking_palette.png")
    photo.resize((900, 400)).save(folder / "smoking wide ünïcode.jpg")
    data = prepare(prefix_layout, "ds", 48, seed=0)
    images, _ = data.tensors["train"]
    assert images.shape[1:] == (3, 48, 48) and str(images.dtype) == "torch.uint8"
    assert (data.manifest.status == "ok").all()


def test_unreadable_files_are_listed_skipped_and_recorded(prefix_layout, capsys):
    folder = prefix_layout / "ds" / "Training" / "Training"
    (folder / "smoking_broken.jpg").write_bytes(b"not a jpeg at all")
    (folder / "notsmoking_empty.jpg").write_bytes(b"")
    data = prepare(prefix_layout, "ds", 32, seed=0)
    bad = data.manifest[data.manifest.status.str.startswith("unreadable")]
    assert sorted(bad.path) == [
        "Training/Training/notsmoking_empty.jpg",
        "Training/Training/smoking_broken.jpg",
    ]
    assert "smoking_broken.jpg" in capsys.readouterr().out
    assert sum(data.sizes().values()) == 32


def test_one_class_is_a_clear_error(tmp_path):
    copy_photos(real_photos("smoking", 10), tmp_path / "ds" / "smoking")
    with pytest.raises(DataError, match="no 'not smoking' images"):
        prepare(tmp_path, "ds", 32, seed=0)


def test_empty_split_is_a_clear_error(tmp_path):
    copy_photos(real_photos("smoking", 6) + real_photos("notsmoking", 6), tmp_path / "ds" / "train")
    (tmp_path / "ds" / "val").mkdir()
    (tmp_path / "ds" / "val" / "smoking_x.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="val split has no"):
        prepare(tmp_path, "ds", 32, seed=0)


def test_missing_root_and_data_set_say_where_they_looked(tmp_path):
    with pytest.raises(DataError, match="does not exist.*doi:10.17632"):
        find_dataset(tmp_path / "nowhere", "smoker_detection")
    with pytest.raises(DataError, match="not found in"):
        find_dataset(tmp_path, "smoker_detection")


def test_truncated_huge_and_stray_files(prefix_layout):
    folder = prefix_layout / "ds" / "Training" / "Training"
    photo = real_photos("smoking", 1)[0]
    (folder / "smoking_truncated.jpg").write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    Image.open(photo).resize((6000, 4000)).save(folder / "smoking_huge.jpg")
    (folder / "notes.txt").write_text("not an image, and not named like one")
    data = prepare(prefix_layout, "ds", 64, seed=0)
    status = data.manifest.set_index("path").status
    assert status["Training/Training/smoking_truncated.jpg"].startswith("unreadable")
    assert status["Training/Training/smoking_huge.jpg"] == "ok"
    assert "Training/Training/notes.txt" not in status


def test_an_empty_class_folder_is_a_clear_error(tmp_path):
    copy_photos(real_photos("notsmoking", 10), tmp_path / "ds" / "train" / "not smoking")
    (tmp_path / "ds" / "train" / "smoking").mkdir()
    with pytest.raises(DataError, match="no 'smoking' images"):
        prepare(tmp_path, "ds", 32, seed=0)


def test_a_permission_denied_file_is_listed_and_skipped():
    """Run as an unprivileged user (root reads any file), on a copy of real photos in /tmp."""
    if os.geteuid() == 0 and not all(
        p.stat().st_mode & 0o005 == 0o005 for p in [REPO, *REPO.parents]
    ):
        pytest.skip(f"{REPO} is not readable by an unprivileged user, who must run this check")
    root = Path(tempfile.mkdtemp(prefix="perm-"))
    try:
        root.chmod(0o755)
        for label in ("smoking", "notsmoking"):
            copy_photos(real_photos(label, 8), root / "ds" / "train")
        locked = root / "ds" / "train" / "smoking_0001.jpg"
        for path in [root / "ds", root / "ds" / "train", *(root / "ds" / "train").iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        locked.chmod(0o000)
        script = (
            "import sys; from pathlib import Path; from data_utils.prepare import prepare; "
            "m = prepare(Path(sys.argv[1]), 'ds', 32, seed=0).manifest.set_index('path'); "
            "print(m.status['train/smoking_0001.jpg'])"
        )
        as_nobody = (
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if os.geteuid() == 0
            else []
        )
        done = subprocess.run(
            [*as_nobody, sys.executable, "-c", script, str(root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Skipped 1 unreadable image(s)" in done.stdout and "smoking_0001.jpg" in done.stdout
        assert done.stdout.strip().splitlines()[-1].startswith("unreadable: PermissionError")
    finally:
        shutil.rmtree(root)
