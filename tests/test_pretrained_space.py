"""A search whose backbone is itself searched (pretrained_dataset1): each trial builds the model
its config drew, at that model's input size, and a frozen one reads that model's cached
activations, built by the first trial that needs them; promotion scores and saves each member at
its own size."""

import json
import os

import pandas as pd
import torch
from conftest import FIRST_EXPERIMENT_JSON, REPO, copy_photos, real_photos, run_cli

import search_spaces
from models import build_model


def test_each_trial_trains_the_backbone_it_drew_at_its_own_input_size(tmp_path):
    # 64 training photos: the space's largest batch
    for split, count in (
        ("Training", 40),
        ("Validation", 10),
    ):
        for label in ("smoking", "notsmoking"):
            copy_photos(
                real_photos(label, count, split), tmp_path / "data" / "small" / split / split
            )
    results = tmp_path / "results"
    done = run_cli(
        "tune.run",
        "--space",
        "pretrained_dataset1",
        "--dataset",
        "small",
        "--data-root",
        str(tmp_path / "data"),
        "--num-samples",
        "4",
        "--max-passes",
        "1",
        "--results-dir",
        # relative, as the default `results` is: trials run elsewhere and must still find it
        os.path.relpath(results, REPO),
        "--name",
        "backbones",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp_dir = results / "backbones"
    exp = json.loads((exp_dir / "experiment.json").read_text())
    inputs = exp["trial_settings"]["inputs"]
    assert {name: i["image_size"] for name, i in inputs.items()} == {
        "efficientnet_lite0": 224,
        "efficientnet_lite1": 320,
        "efficientnet_lite2": 260,
    }
    table = pd.read_csv(exp_dir / "trials.csv")
    assert table.loc[table.baseline, "param_model"].tolist() == ["efficientnet_lite0"]
    configs = [json.loads(p.read_text()) for p in (exp_dir / "ray").glob("*/params.json")]
    # the baseline fine-tunes every layer (its own value of a fixed setting); the others freeze
    # all but their last `unfrozen_stages`
    assert sorted(c["freeze_backbone"] for c in configs) == [False, True, True, True]
    drawn = {c["model"] for c in configs if c["freeze_backbone"]}
    # every model's images at its size; the activations of those a frozen trial drew, built
    # by that trial (six views, pooled and the input of the last stage), of no other
    for name, i in inputs.items():
        images = torch.load(exp_dir / i["tensors_file"], weights_only=True)["train_images"]
        assert images.shape[1:] == (3, i["image_size"], i["image_size"])
        assert i["cut_stages"] == 1
        assert (exp_dir / i["features_file"]).exists() == (name in drawn), (name, drawn)
        if name in drawn:
            cached = torch.load(exp_dir / i["features_file"], weights_only=True)
            assert cached["train"].shape[:2] == (len(images), 6)
            assert cached["train_cut1"].shape[:2] == (len(images), 6)
            assert "train_cut2" not in cached  # the space trains one stage at most
    assert not list(exp_dir.glob("*.tmp"))
    # else this test shows little
    assert table.param_model.nunique() >= 2, table.param_model.tolist()
    checkpoints = sorted((exp_dir / "ray").glob("*/checkpoint_*/checkpoint.pt"))
    assert len(checkpoints) == len(table)
    for checkpoint in checkpoints:  # each holds the network its trial drew: its parameters' shapes
        params = json.loads((checkpoint.parents[1] / "params.json").read_text())
        state = torch.load(checkpoint, weights_only=True)["model"]
        expected = build_model(
            params["model"], {**params, "weights": "none"}, inputs[params["model"]]["image_size"]
        )
        assert {k: v.shape for k, v in state.items()} == {
            k: v.shape for k, v in expected.state_dict().items()
        }

    # the trials alone: the probe's backbones have input sizes of their own (tests/test_probe.py)
    done = run_cli(
        "tune.promote", "backbones", "--results-dir", str(results), "--ensemble", "3", "--no-probe"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    saved = torch.load(exp_dir / "model.pt", weights_only=True)
    for member in saved.get("members", [saved]):
        assert member["image_size"] == inputs[member["model"]]["image_size"]
    # a best trial on cached activations is retrained per fold and the options ranked so; the
    # baseline (a whole network) by validation
    scores = json.loads((exp_dir / "test_scores.json").read_text())
    cached = bool(table.iloc[0]["param_freeze_backbone"])
    assert ("best_trial_cv" in scores) == cached, scores.get("chosen_by")
    assert scores["chosen_by"].startswith("5-fold cross-validation" if cached else "validation")


def test_the_space_lists_every_backbone_it_may_build():
    space = search_spaces.load("pretrained_dataset1")
    assert search_spaces.models(space) == [
        "efficientnet_lite0",
        "efficientnet_lite1",
        "efficientnet_lite2",
    ]
    # the space's own size for Lite1 (a dict), each model's native size for the others
    assert [search_spaces.image_size(space, m) for m in search_spaces.models(space)] == [
        224,
        320,
        260,
    ]
    assert search_spaces.models(search_spaces.load("cnn_dataset1")) == ["seed_cnn"]


def test_an_experiment_from_before_models_were_searched_still_reads(tmp_path):
    """Its trial settings named one image size and one tensors file: they become its one model's
    inputs, so --resume, promote and report keep working on it."""
    from tune import experiment, trial_inputs
    from tune.settings import ModelInputs

    old = {
        "model": "efficientnet_lite0",
        "image_size": 224,
        "tensors_file": "images_224.pt",
        "features_file": "features_efficientnet_lite0_224.pt",
        "max_epochs": 3,
        "seed": 0,
    }
    written = {**FIRST_EXPERIMENT_JSON, "trial_settings": old}
    (tmp_path / "experiment.json").write_text(json.dumps(written))
    trial_settings = experiment.settings(tmp_path).trial_settings
    assert trial_settings.inputs == {
        "efficientnet_lite0": ModelInputs(
            image_size=224,
            tensors_file="images_224.pt",
            features_file="features_efficientnet_lite0_224.pt",
            precision={},  # none recorded then: fp32
        )
    }
    for_trial = trial_inputs.for_trial({"lr": 1e-3}, trial_settings)
    assert (for_trial.model, for_trial.image_size) == ("efficientnet_lite0", 224)
