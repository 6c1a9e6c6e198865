"""Any photos, any classes: class folders of any names (spaces, accents, digits), two or more,
with split folders or without, from `tune.run` to `tune.predict`; scikit-learn's handwritten
digits as a real ten-class data set; what is refused, in one line."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import copy_photos, real_photos, run_cli

from data_utils import DataError
from data_utils.digits import export
from data_utils.layout import SMOKING_CLASSES
from data_utils.prepare import prepare
from training.precision import Precision
from tune import model_file


def search(tmp_path, root: Path, dataset: str, *more) -> Path:
    """A small real search (the smoke space) on the data set, promoted: its experiment folder."""
    results = tmp_path / "results"
    done = run_cli(
        *("tune.run", "--space", "smoke", "--dataset", dataset, "--data-root", str(root)),
        *("--name", dataset, "--num-samples", "2", "--max-passes", "1", *more),
        *("--results-dir", str(results)),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    promoted = run_cli("tune.promote", dataset, "--results-dir", str(results))
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-3000:]
    return results / dataset


def predicted(exp_dir: Path, *photos) -> pd.DataFrame:
    done = run_cli(
        "tune.predict", "--model", str(exp_dir / "model.pt"), *map(str, photos), "--format", "csv"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return pd.read_csv(pd.io.common.StringIO(done.stdout))


def digit_scans(folder: Path, per_class: int) -> None:
    """Real 8x8 scans (scikit-learn's digits) as a class that looks nothing like the photos."""
    export(folder / "digits", per_class)
    for scan in (folder / "digits").rglob("*.png"):
        scan.rename(folder / f"{scan.parent.name}_{scan.name}")
    for empty in sorted((folder / "digits").iterdir()):
        empty.rmdir()
    (folder / "digits").rmdir()


def test_three_classes_named_as_people_name_them_in_split_folders(tmp_path):
    root = tmp_path / "root"
    for split, first, count in (("train", 0, 24), ("valid", 24, 8), ("test", 32, 8)):
        base = root / "pets" / split
        copy_photos(real_photos("smoking", first + count)[first:], base / "chats noirs")
        copy_photos(real_photos("notsmoking", first + count)[first:], base / "Hunde groß")
        digit_scans(base / "oiseaux 3", count // 10 + 1)
    exp_dir = search(tmp_path, root, "pets")
    exp = json.loads((exp_dir / "experiment.json").read_text())
    assert exp["classes"] == ["Hunde groß", "chats noirs", "oiseaux 3"]  # sorted, label = index
    scores = json.loads((exp_dir / "test_scores.json").read_text())["winner"]["test"]
    assert scores["classes"] == exp["classes"] and len(scores["confusion_matrix"]) == 3
    assert set(scores["per_class"]) == set(exp["classes"]) and "macro" in scores
    rows = predicted(exp_dir, real_photos("smoking", 1, "Validation")[0])
    assert list(rows.columns) == ["image", "label", *(f"p_{c}" for c in exp["classes"])]
    assert rows.label[0] in exp["classes"]
    assert rows.filter(like="p_").sum(axis=1)[0] == pytest.approx(1.0, abs=1e-3)
    summary = (exp_dir / "summary.md").read_text()
    assert "classes: Hunde groß, chats noirs, oiseaux 3" in summary
    assert (
        "'Hunde groß', 'chats noirs' and 'oiseaux 3' apart" in (exp_dir / "report.md").read_text()
    )


def test_two_classes_of_their_own_without_split_folders(tmp_path):
    root = tmp_path / "root"
    copy_photos(real_photos("smoking", 30), root / "two" / "Katzen")
    copy_photos(real_photos("notsmoking", 30), root / "two" / "Hunde")
    exp_dir = search(tmp_path, root, "two")
    assert json.loads((exp_dir / "experiment.json").read_text())["classes"] == ["Hunde", "Katzen"]
    rows = predicted(exp_dir, *real_photos("notsmoking", 2, "Validation"))
    assert list(rows.columns) == ["image", "label", "p_Hunde", "p_Katzen"]
    assert set(rows.label) <= {"Hunde", "Katzen"}
    # the model file knows its classes: evaluate refuses a folder of others, in one line
    copy_photos(real_photos("smoking", 3, "Validation"), tmp_path / "other" / "Vögel")
    refused = run_cli(
        "tune.evaluate", "--model", str(exp_dir / "model.pt"), "--data", str(tmp_path / "other")
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "'Vögel' are not the model's ('Hunde', 'Katzen')" in refused.stderr


def test_handwritten_digits_a_real_ten_class_data_set(tmp_path):
    """scikit-learn's digits, exported by data_utils/digits.py, searched and promoted."""
    done = run_cli("data_utils.digits", str(tmp_path / "root"), "--per-class", "30")
    assert done.returncode == 0 and "Wrote 300 images of 10 classes" in done.stdout
    exp_dir = search(tmp_path, tmp_path / "root", "digits")
    classes = [str(d) for d in range(10)]
    assert json.loads((exp_dir / "experiment.json").read_text())["classes"] == classes
    test = json.loads((exp_dir / "test_scores.json").read_text())["winner"]["test"]
    assert test["n"] == 60 and sum(test["n_per_class"].values()) == 60  # 20% of 30, per class
    assert test["roc_auc"] is not None and 0 <= test["accuracy"] <= 1
    rows = predicted(exp_dir, *sorted((tmp_path / "root" / "digits" / "7").iterdir())[:2])
    assert list(rows.columns)[2:] == [f"p_{c}" for c in classes]


def test_the_smoking_data_sets_names_keep_their_labels(tmp_path):
    """Folders named as the smoking data set's classes are its two classes, with its labels;
    so is an experiment or a model file from before classes were recorded."""
    copy_photos(real_photos("smoking", 10), tmp_path / "ds" / "Smokers")
    copy_photos(real_photos("notsmoking", 10), tmp_path / "ds" / "not_smoking")
    data = prepare(tmp_path, "ds", 32, seed=0)
    assert data.classes == list(SMOKING_CLASSES) == ["not smoking", "smoking"]
    labels = data.manifest.set_index("class")["label"]
    assert set(labels["smoking"]) == {1} and set(labels["not smoking"]) == {0}
    # a model.pt written before classes were recorded loads as not smoking / smoking
    from models import build_model

    model = build_model("seed_cnn", {}, 64)
    model_file.save(tmp_path / "m.pt", [("seed_cnn", {}, model.state_dict(), 64)], Precision(), {})
    saved = torch.load(tmp_path / "m.pt", weights_only=True)
    del saved["classes"]
    torch.save(saved, tmp_path / "old.pt")
    loaded, _ = model_file.load(tmp_path / "old.pt")
    assert loaded.classes == ["not smoking", "smoking"]


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda ds: copy_photos(real_photos("smoking", 10), ds / "cats"),
            "only one class ('cats'); two or more are needed",
        ),
        (
            lambda ds: [
                copy_photos(real_photos("smoking", 10), ds / "cats"),
                copy_photos(real_photos("notsmoking", 2), ds / "dogs"),
            ],
            "class 'dogs' has 2 training image(s): it needs at least 3",
        ),
        (
            lambda ds: copy_photos(real_photos("smoking", 10), ds, lambda p: f"photo_{p.name}"),
            "no class; two or more are needed",
        ),
    ],
    ids=["one-class", "too-few-in-a-class", "no-class-folders"],
)
def test_data_sets_that_cannot_be_searched_are_one_line_errors(tmp_path, make, message):
    make(tmp_path / "root" / "ds")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare(tmp_path / "root", "ds", 32, seed=0)
    done = run_cli(
        *("tune.run", "--space", "smoke", "--dataset", "ds"),
        *("--data-root", str(tmp_path / "root"), "--results-dir", str(tmp_path / "results")),
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr and not (tmp_path / "results").exists()


def test_files_in_no_class_are_counted_on_the_console(tmp_path, capsys):
    copy_photos(real_photos("smoking", 10), tmp_path / "ds" / "cats")
    copy_photos(real_photos("notsmoking", 10), tmp_path / "ds" / "dogs")
    copy_photos(real_photos("smoking", 3, "Validation"), tmp_path / "ds", lambda p: f"x_{p.name}")
    data = prepare(tmp_path, "ds", 32, seed=0)
    assert "Skipped 3 image(s) in no class folder" in capsys.readouterr().out
    assert (data.manifest.status == "skipped: no class in its folder or file name").sum() == 3
