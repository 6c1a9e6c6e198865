"""Choices small data can make (training/crossval.py), the probe every pretrained search is
compared with (tune/promote/probe.py) and the refit on train + val (tune/promote/refit.py):
folds that are disjoint, stratified, seeded and hold no test photo; a probe's network that is its
regression; refitted models trained on train + val alone that load in evaluate and predict as
any other."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from conftest import SMOKER, real_photos, run_cli, tiny_data

from data_utils.images import load_image
from data_utils.prepare import load_tensors
from models import outputs
from models.ensemble import average
from training import crossval
from training.loop import predict_logits
from training.precision import Precision
from tune import experiment, model_file
from tune.promote import refit


def test_folds_are_disjoint_stratified_and_seeded():
    labels = np.array([0] * 43 + [1] * 37 + [2] * 20)
    found = crossval.folds(labels, k=5, seed=3)
    held = [set(h) for _, h in found]
    assert len(found) == 5 and set().union(*held) == set(range(100))
    assert sum(len(h) for h in held) == 100  # each photo held out once
    for train, out in found:
        assert not set(train) & set(out)
        for c, count in ((0, 43), (1, 37), (2, 20)):  # each fold keeps the classes' shares
            assert abs((labels[out] == c).sum() - count / 5) <= 1
    assert [h.tolist() for _, h in crossval.folds(labels, 5, 3)] == [h.tolist() for _, h in found]
    assert [h.tolist() for _, h in crossval.folds(labels, 5, 4)] != [h.tolist() for _, h in found]


def test_a_weighted_average_of_probabilities():
    a, b = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])
    expected = (torch.sigmoid(a) + 3 * torch.sigmoid(b)) / 4
    assert torch.allclose(torch.sigmoid(average([a, b], [1.0, 3.0])), expected, atol=1e-6)


def test_a_probe_network_gives_its_regressions_logits():
    data = tiny_data(count=8, size=64)
    (x, y), precision = data["train"], Precision()
    feats = {("efficientnet_lite0", 64): crossval.features("efficientnet_lite0", 64, x, precision)}
    recipe = crossval.Recipe((("efficientnet_lite0", 64),), C=0.3)
    (classifier,) = crossval.fit(recipe, feats, y.numpy().astype(int))
    network = crossval.probe_network("efficientnet_lite0", 64, classifier)
    logits = predict_logits(network, data["val"][0], "imagenet", precision)
    val_features = crossval.features("efficientnet_lite0", 64, data["val"][0], precision)[0]
    expected = classifier.decision_function(val_features)
    assert np.allclose(logits.numpy(), expected, atol=1e-4)
    assert np.abs(expected).max() > 0.1  # a head that learned something, not zeros


def split_counts(exp_dir) -> dict:
    manifest = pd.read_csv(exp_dir / "manifest.csv")
    return manifest[manifest["status"] == "ok"].groupby("split").size().to_dict()


def test_promote_fits_the_probe_on_train_and_val_and_compares_the_winner_with_it(
    pretrained_search,
):
    exp_dir = pretrained_search
    done = run_cli("tune.promote", "probe", "--results-dir", str(exp_dir.parent))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    scores = json.loads((exp_dir / "test_scores.json").read_text())
    counts = split_counts(exp_dir)
    probe = scores["probe"]
    # cross-validated and refitted on every train and val photo, and on no test photo
    assert probe["cv"]["photos"] == counts["train"] + counts["val"]
    assert probe["refit_on"] == {"train": counts["train"], "val": counts["val"]}
    assert len(probe["cv"]["accuracy"]) == crossval.FOLDS
    assert set(probe["cv"]["loss_by_C"]) == {str(c) for c in crossval.C_GRID}
    assert probe["test"]["n"] == counts["test"]
    names = [option["name"] for option in scores["alternatives"]]
    assert names == ["single best", "probe", "single best + probe"]
    # by cross-validation where it covers the best trial (a frozen one), else by validation
    by_cv = scores["chosen_by"].startswith("5-fold cross-validation")
    ranked = [o for o in scores["alternatives"] if not by_cv or "cv_loss" in o]
    chosen = min(ranked, key=lambda option: option["cv_loss" if by_cv else "val_loss"])
    assert scores["winner"]["test"] == chosen["test"]
    assert {"only_probe_correct", "p_value"} <= set(scores["mcnemar_winner_vs_probe"])
    # the model file predicts what promote scored: its members, sizes and weights
    model, _ = model_file.load(exp_dir / "model.pt")
    manifest = pd.read_csv(exp_dir / "manifest.csv")
    test = manifest[(manifest["split"] == "test") & (manifest["status"] == "ok")]
    paths = [Path(experiment.settings(exp_dir).dataset_dir) / p for p in test["path"]]
    at = {size: torch.stack([load_image(p, size) for p in paths]) for size in model.image_sizes}
    right = (outputs.predicted(model.logits(at.get)) == torch.tensor(test["label"].values)).sum()
    assert int(right) == round(scores["winner"]["test"]["accuracy"] * len(paths))
    assert "The probe (" in done.stdout or "The winner is the probe itself" in done.stdout


def test_a_refit_trains_on_train_and_val_only_and_its_model_file_runs_anywhere(
    pretrained_search, tmp_path
):
    exp_dir = pretrained_search
    exp = experiment.settings(exp_dir)
    # the refit's photos are the manifest's train and val, in order, and no test photo
    tensors = exp_dir / exp.trial_settings.inputs["efficientnet_lite0"].tensors_file
    train_x, val_x, test_x = (load_tensors(tensors, s)[0] for s in ("train", "val", "test"))
    images, labels = refit.train_and_val(exp_dir, exp, "efficientnet_lite0")["train"]
    counts = split_counts(exp_dir)
    assert len(images) == len(labels) == counts["train"] + counts["val"]
    assert torch.equal(images, torch.cat([train_x, val_x]))
    seen = {image.numpy().tobytes() for image in images}
    assert not any(image.numpy().tobytes() in seen for image in test_x)

    done = run_cli(
        "tune.promote", "probe", "--results-dir", str(exp_dir.parent), "--no-probe", "--refit"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    scores = json.loads((exp_dir / "test_scores.json").read_text())
    assert scores["winner"]["refit"]["trained_on"] == {
        "train": counts["train"],
        "val": counts["val"],
    }
    assert scores["winner"]["refit"]["members"][0]["passes"] >= 1
    assert "refitted on train + val" in done.stdout and "probe" not in scores

    model = str(exp_dir / "model.pt")
    where = ["--data", str(SMOKER / "Validation"), "--out", str(tmp_path / "eval.json")]
    evaluated = run_cli("tune.evaluate", "--model", model, *where)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == 180
    photo = real_photos("smoking", 1, "Validation")
    predicted = run_cli("tune.predict", "--model", model, *map(str, photo))
    assert predicted.returncode == 0, predicted.stderr
    assert "smoking" in predicted.stdout
