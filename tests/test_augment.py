"""The augmented export: split first, augment training images only, deterministic for a seed."""

import pandas as pd
from conftest import REPO, run_cli

import search_spaces
from data_utils.layout import find_dataset, scan
from data_utils.prepare import prepare


def export(source, out, *extra):
    done = run_cli("data_utils.augment", str(source), str(out), "--copies", "2", *extra)
    assert done.returncode == 0, done.stderr[-2000:]
    return pd.read_csv(out / "augment_manifest.csv")


def test_no_source_image_has_outputs_in_two_splits(prefix_layout, tmp_path):
    rows = export(prefix_layout / "ds", tmp_path / "out")
    assert (rows.groupby("source")["split"].nunique() == 1).all()
    augmented = rows[rows.augmentation != "original"]
    assert (
        set(augmented.split) == {"train"}
        and len(augmented) == 2 * (rows.augmentation == "original")[rows.split == "train"].sum()
    )
    assert {p.split("/")[0] for p in rows.output} == {"train", "valid", "test"}


def test_same_seed_same_names_and_labels_other_seed_other_split(prefix_layout, tmp_path):
    a, b = (
        export(prefix_layout / "ds", tmp_path / "a"),
        export(prefix_layout / "ds", tmp_path / "b"),
    )
    pd.testing.assert_frame_equal(a, b)
    for name in a.output:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = export(prefix_layout / "ds", tmp_path / "c", "--seed", "1")
    assert not a[["source", "split"]].equals(c[["source", "split"]])


def test_the_export_reads_back_as_a_data_set_with_its_own_splits(prefix_layout, tmp_path):
    rows = export(prefix_layout / "ds", tmp_path / "root" / "augmented", "--preset", "report")
    assert set(rows.augmentation) == {"original", "rotate 10", "rotate 20"}
    data = prepare(tmp_path / "root", "augmented", 32, seed=5)
    assert data.sizes() == rows.split.value_counts().to_dict()


def test_export_refuses_to_overwrite_or_write_inside_the_source(prefix_layout, tmp_path):
    done = run_cli(
        "data_utils.augment", str(prefix_layout / "ds"), str(prefix_layout / "ds" / "out")
    )
    assert done.returncode == 2 and "inside SOURCE" in done.stderr
    (tmp_path / "taken").mkdir()
    done = run_cli("data_utils.augment", str(prefix_layout / "ds"), str(tmp_path / "taken"))
    assert done.returncode == 2 and "already exists" in done.stderr


BUILD_DATASET2 = (
    "python -m data_utils.augment ../shared/datasets/smoker_detection "
    "data/smoker_detection_augmented --copies 3 --rotate 15 --color 0.3"
)


def test_data_set_2_here_is_data_set_1_exported_as_the_readme_says():
    """`.ci/run` builds data set 2 with the README's command; the `*_dataset2` spaces read it."""
    dataset = search_spaces.load("cnn_dataset2").dataset
    # raises, saying what is missing, if it was not built
    folder = find_dataset(REPO / "data", dataset)
    rows = pd.read_csv(folder / "augment_manifest.csv")
    assert (rows.groupby("source")["split"].nunique() == 1).all()
    sources = rows[rows.augmentation == "original"].split.value_counts().to_dict()
    assert sources == {"train": 572, "val": 180, "test": 144}, f"rebuild it: {BUILD_DATASET2}"
    assert rows.split.value_counts().to_dict() == {"train": 4 * 572, "val": 180, "test": 144}
    files = scan(folder)
    assert files.split.value_counts().to_dict() == rows.split.value_counts().to_dict()
    assert set(files.label) == {0, 1}
