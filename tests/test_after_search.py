"""What comes after a search: the trial table, promotion to the final test, evaluate, predict,
and the bad input each of them must refuse."""

import json
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
from conftest import (
    LOG_EVERY_S,
    REPO,
    SMOKER,
    copy_photos,
    real_photos,
    run_cli,
    run_in_process,
)

from data_utils.images import load_image
from data_utils.prepare import load_tensors
from models import build_model
from training.loop import predict_logits
from training.precision import usable
from tune import model_file

TEST_SCORE_FIELDS = {
    "n",
    "accuracy",
    "accuracy_ci95",
    "loss",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "confusion_matrix",
}


@pytest.fixture(scope="module")
def promoted(smoke_search):
    exp_dir = smoke_search[0]
    drawn = figure_times(exp_dir)  # the search's report drew them
    done = run_cli("tune.promote", "e2e", "--results-dir", str(exp_dir.parent))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return exp_dir, done, drawn


def figure_times(exp_dir):
    figures = ("curves.png", "params.png", "importance.png")
    return [(exp_dir / name).stat().st_mtime_ns for name in figures]


def trials(capsys, exp_dir, *args):
    """`python -m tune.trials e2e ARGS` in this process (a real process is checked once below)."""
    from tune.trials import main

    return run_in_process(capsys, main, "e2e", "--results-dir", str(exp_dir.parent), *args)


def test_trial_table_formats_and_filters(smoke_search, capsys):
    exp_dir = smoke_search[0]
    csv = run_cli("tune.trials", "e2e", "--results-dir", str(exp_dir.parent), "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    table = pd.read_csv(pd.io.common.StringIO(csv.stdout))
    assert len(table) == 3 and {
        "trial_id",
        "status",
        "epochs",
        "best_val_loss",
        "param_lr",
        "wall_time_s",
    } <= set(table)
    top = json.loads(
        trials(capsys, exp_dir, "--format", "json", "--top", "1", "--sort", "best_val_acc")[1]
    )
    assert len(top) == 1 and top[0]["best_val_acc"] == pytest.approx(table.best_val_acc.max())
    assert "| trial" in trials(capsys, exp_dir, "--format", "markdown")[1]
    assert trials(capsys, exp_dir, "--status", "error")[1].strip() == ""
    text = trials(capsys, exp_dir)[1]
    assert "lr" in text and "best_val_loss" in text
    code, _, err = trials(capsys, exp_dir, "--sort", "nope")
    assert code == 2 and "no such column" in err


def test_a_search_in_a_log_says_its_status_every_few_seconds_and_each_closed_rung(smoke_search):
    """Off a terminal (a log file, CI, nohup): plain lines, a status line at least every
    --log-every seconds while anything runs, and a line when a rung closes."""
    out = smoke_search[1].stdout
    assert "\x1b" not in out and "\r" not in out
    assert re.search(
        r"^rung at 1 pass closed with 3 results: \d of the \d waiting there go on, \d stopped",
        out,
        re.MULTILINE,
    )
    # every status line ends with the time elapsed; a few seconds' slack for a busy driver
    elapsed = [60 * int(m) + int(s) for m, s in re.findall(r"\| (\d+):(\d\d) elapsed", out)]
    assert len(elapsed) >= 4
    assert max(b - a for a, b in zip([0, *elapsed], elapsed, strict=False)) <= 2 * LOG_EVERY_S + 5


def test_a_trial_left_unfinished_reads_paused_once_no_driver_runs(smoke_search, tmp_path):
    """Ray saves a trial whose worker was still starting when its loop ended (a time budget, a
    kill) as PENDING: with results, it is paused until --resume, running only while searching."""
    from tune import experiment

    exp_dir = shutil.copytree(smoke_search[0], tmp_path / "e2e")
    state_file = sorted((exp_dir / "ray").glob("experiment_state-*.json"))[-1]
    state = json.loads(state_file.read_text())
    trial = json.loads(state["trial_data"][0][0])
    trial["status"] = "PENDING"
    state["trial_data"][0][0] = json.dumps(trial)
    state_file.write_text(json.dumps(state))

    def status(**searching):
        table = experiment.trials_table(exp_dir, **searching).set_index("trial_id")
        return table.loc[trial["trial_id"], "status"]

    assert status() == status(searching=False) == "PAUSED"
    assert status(searching=True) == "RUNNING"


def test_the_trial_table_reads_a_search_without_importing_torch_or_the_search(smoke_search):
    """Ray's saved state names what it pickled (the trials' folder-name function): had that
    been the engine's, reading it imported torch and the models, 13 s of a 16 s table at 1,000
    trials. The static layers are .importlinter's; this is what reading the state imports."""
    exp_dir, _ = smoke_search
    code = (
        "import sys; from pathlib import Path; from tune import experiment; "
        f"table = experiment.trials_table(Path({str(exp_dir)!r})); "
        "print(len(table), sorted(m for m in ('torch', 'tune.engine.search') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == f"{len(pd.read_csv(exp_dir / 'trials.csv'))} []"


def test_a_table_into_a_pipe_that_closes_early_ends_quietly(smoke_search):
    """`python -m tune.trials EXP | head -0`: the reader is gone before the table is written."""
    command = [sys.executable, "-m", "tune.trials", "e2e", "--results-dir"]
    reader_gone = subprocess.Popen(
        [*command, str(smoke_search[0].parent)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader_gone.stdout.close()  # before the command has even imported pandas
    err = reader_gone.stderr.read()
    assert reader_gone.wait(timeout=120) == 1 and err == "", err


def test_unknown_experiment_lists_the_known_ones(smoke_search):
    exp_dir = smoke_search[0]
    for command in ("tune.trials", "tune.promote"):
        done = run_cli(command, "nope", "--results-dir", str(exp_dir.parent))
        assert (
            done.returncode == 2
            and "experiments there: e2e" in done.stderr
            and "Traceback" not in done.stderr
        )


def test_promote_writes_honest_test_scores(promoted):
    exp_dir, done, drawn = promoted
    scores = json.loads((exp_dir / "test_scores.json").read_text())
    exp = json.loads((exp_dir / "experiment.json").read_text())
    # The manifest's held-out test split, and each model re-scored on it here, independently.
    test_x, test_y = load_tensors(
        exp_dir / exp["trial_settings"]["inputs"]["seed_cnn"]["tensors_file"], "test"
    )
    right = {}
    for who in ("winner", "baseline"):
        test = scores[who]["test"]
        assert TEST_SCORE_FIELDS <= set(test) and test["n"] == len(test_y) == 48
        (tn, fp), (fn, tp) = test["confusion_matrix"]
        assert tn + fp + fn + tp == test["n"] and test["accuracy"] == pytest.approx(
            (tp + tn) / test["n"]
        )
        state = torch.load(exp_dir / scores[who]["checkpoint"] / "checkpoint.pt", weights_only=True)
        model = build_model(
            "seed_cnn", scores["winner"]["config"] if who == "winner" else exp["baseline"], 64
        )
        model.load_state_dict(state["model"])
        predicted = (
            predict_logits(model, test_x, "half", usable(exp["trial_settings"]["precision"])[0]) > 0
        )
        right[who] = predicted == test_y.bool()
        assert (
            int(right[who].sum()) == test["correct"]
            and int((predicted & test_y.bool()).sum()) == tp
        )
    mcnemar = scores["mcnemar_winner_vs_baseline"]  # paired: the same images for both
    assert mcnemar["only_winner_correct"] == int((right["winner"] & ~right["baseline"]).sum())
    assert mcnemar["only_baseline_correct"] == int((~right["winner"] & right["baseline"]).sum())
    assert "on 48 test images" in done.stdout
    board = pd.read_csv(exp_dir.parent / "leaderboard.csv")
    assert (
        list(board.experiment) == ["e2e"]
        and board.test_acc[0] == scores["winner"]["test"]["accuracy"]
    )
    assert "## Final test" in (exp_dir / "summary.md").read_text()
    # the report gains the final test; its figures show the trials, which a promotion does not
    # change: not drawn again (~1 s of a promotion at 1,000 trials)
    assert "## Final test" in (exp_dir / "report.md").read_text()
    assert figure_times(exp_dir) == drawn
    from tune import study  # and on the Optuna study, for the dashboard

    recorded = study.load(exp_dir).user_attrs
    assert recorded["test_winner"]["accuracy"] == scores["winner"]["test"]["accuracy"]
    assert recorded["test_baseline"]["accuracy_ci95"] == scores["baseline"]["test"]["accuracy_ci95"]


def test_promoted_model_is_weights_only_and_matches_the_checkpoint(promoted):
    exp_dir = promoted[0]
    saved = torch.load(exp_dir / "model.pt", weights_only=True)
    scores = json.loads((exp_dir / "test_scores.json").read_text())
    checkpoint = torch.load(
        exp_dir / scores["winner"]["checkpoint"] / "checkpoint.pt", weights_only=True
    )
    assert (
        saved["model"] == "seed_cnn"
        and saved["normalization"] == "half"
        and saved["image_size"] == 64
    )
    for name, tensor in checkpoint["model"].items():
        assert torch.equal(saved["state_dict"][name], tensor)


def test_promote_top_k_retrains_and_says_who_won(smoke_search, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(smoke_search[0], results / "e2e")
    done = run_cli(
        "tune.promote", "e2e", "--results-dir", str(results), "--top-k", "2", "--seeds", "2"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads((results / "e2e" / "test_scores.json").read_text())
    runs = pd.DataFrame(scores["selection"]["runs"])
    assert len(runs) == 4 and runs.groupby("trial_id").size().tolist() == [2, 2]
    # the best, not the worst
    assert scores["winner"]["trial_id"] == runs.groupby("trial_id").val_loss.mean().idxmin()
    assert "had the best mean val loss" in done.stdout


def test_promote_before_any_trial_finished(smoke_search, tmp_path):
    fresh = tmp_path / "results" / "fresh"
    fresh.mkdir(parents=True)
    shutil.copy(smoke_search[0] / "experiment.json", fresh)
    done = run_cli("tune.promote", "fresh", "--results-dir", str(tmp_path / "results"))
    assert done.returncode == 2 and "nothing to promote" in done.stderr


def test_evaluate_on_a_folder(promoted, tmp_path):
    exp_dir = promoted[0]
    done = run_cli(
        "tune.evaluate",
        "--model",
        str(exp_dir / "model.pt"),
        "--data",
        str(SMOKER / "Validation"),
        "--out",
        str(tmp_path / "eval.json"),
    )
    assert done.returncode == 0, done.stderr
    assert "180 images" in done.stdout and "accuracy" in done.stdout
    scores = json.loads((tmp_path / "eval.json").read_text())
    # its figures are the model's own on those photos, counted here without evaluate
    model, _ = model_file.load(exp_dir / "model.pt")
    size = model.image_sizes[0]
    photos = sorted((SMOKER / "Validation" / "Validation").glob("*.jpg"))
    labels = torch.tensor([p.name.startswith("smoking") for p in photos])
    predicted = model.logits({size: torch.stack([load_image(p, size) for p in photos])}.get) > 0
    right = int((predicted == labels).sum())
    assert scores["n"] == len(photos) == 180 and scores["correct"] == right
    true_positives = int((predicted & labels).sum())
    assert scores["confusion_matrix"][1][1] == true_positives


def test_evaluate_on_one_class_says_what_cannot_be_computed(promoted, tmp_path):
    copy_photos(real_photos("smoking", 5), tmp_path / "only")
    done = run_cli(
        "tune.evaluate",
        "--model",
        str(promoted[0] / "model.pt"),
        "--data",
        str(tmp_path / "only"),
        "--out",
        str(tmp_path / "eval.json"),
    )
    assert done.returncode == 0, done.stderr
    assert "roc_auc: not computable (needs images of both classes)" in done.stdout


def test_predict_prints_a_probability_per_image(promoted, tmp_path):
    photos = real_photos("smoking", 1, "Validation") + real_photos("notsmoking", 1, "Validation")
    done = run_cli(
        "tune.predict",
        "--model",
        str(promoted[0] / "model.pt"),
        *map(str, photos),
        "--format",
        "csv",
    )
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(pd.io.common.StringIO(done.stdout))
    assert len(rows) == 2
    # Each probability is the saved network's own, and each label says what its probability says.
    saved = torch.load(promoted[0] / "model.pt", weights_only=True)
    model = build_model("seed_cnn", saved["config"], saved["image_size"])
    model.load_state_dict(saved["state_dict"])
    images = torch.stack([load_image(p, saved["image_size"]) for p in photos])
    expected = torch.sigmoid(
        predict_logits(model, images, saved["normalization"], usable(saved["precision"])[0])
    )
    assert rows.p_smoking.tolist() == pytest.approx(expected.tolist(), abs=1e-4)
    assert rows.label.tolist() == [
        "smoking" if p > 0.5 else "not smoking" for p in expected.tolist()
    ]


def test_predict_names_an_unreadable_photo_and_exits_1(promoted, tmp_path):
    good = real_photos("smoking", 1, "Validation")[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a JPEG")
    done = run_cli("tune.predict", "--model", str(promoted[0] / "model.pt"), str(good), str(broken))
    assert done.returncode == 1
    assert str(good) in done.stdout and str(broken) not in done.stdout  # the readable one answered
    assert f"{broken}: could not read it" in done.stderr and "Traceback" not in done.stderr


class Exploit:
    """Unpickling this runs os.system: exactly what a weights-only load must refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("command", ["tune.evaluate", "tune.predict"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, command):
    marker = tmp_path / "pwned"
    torch.save({"format": "smoker-tune-model/1", "payload": Exploit(marker)}, tmp_path / "evil.pt")
    args = ["--data", str(SMOKER / "Validation")] if command == "tune.evaluate" else [str(SMOKER)]
    done = run_cli(command, "--model", str(tmp_path / "evil.pt"), *args)
    assert done.returncode == 2 and "not a weights-only model file" in done.stderr
    assert not marker.exists()


def test_a_model_file_that_is_not_ours(tmp_path):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pt")
    done = run_cli("tune.predict", "--model", str(tmp_path / "other.pt"), str(SMOKER))
    assert done.returncode == 2 and "not a model written by python -m tune.promote" in done.stderr


def test_promote_ensemble_lets_validation_choose_and_reports_every_option(smoke_search, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(smoke_search[0], results / "e2e")
    done = run_cli("tune.promote", "e2e", "--results-dir", str(results), "--ensemble", "3", "--tta")
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads((results / "e2e" / "test_scores.json").read_text())
    options = {o["name"]: o for o in scores["alternatives"]}
    assert list(options) == [
        "single best",
        "single best + flip TTA",
        "ensemble of the top 2",
        "ensemble of the top 2 + flip TTA",
        "ensemble of the top 3",
        "ensemble of the top 3 + flip TTA",
    ]
    chosen = min(options.values(), key=lambda o: o["val_loss"])  # validation chose, never the test
    assert scores["winner"]["test"] == chosen["test"]
    assert scores["winner"].get("ensemble", {}).get("name", "single best") == chosen["name"]
    saved = torch.load(results / "e2e" / "model.pt", weights_only=True)
    assert (saved["model"] == "ensemble") == (chosen["name"] != "single best")
    # the table, printed
    assert "| single best" in done.stdout and "the report's baseline" in done.stdout
    assert "ensemble of the top 3" in (results / "e2e" / "summary.md").read_text()
    refused = run_cli(
        "tune.promote", "e2e", "--results-dir", str(results), "--ensemble", "2", "--top-k", "2"
    )
    assert refused.returncode == 2 and "use one of them" in refused.stderr


def test_an_ensemble_model_file_round_trips_and_averages_its_members(tmp_path):
    """Three heads on frozen ImageNet EfficientNet-Lite0 features, one config and three seeds,
    trained on 30 real photos per class; averaged (with flip TTA) into one model.pt, which evaluate
    and predict use on 30 other real photos per class, as they use any model file."""
    from training import features
    from training.loop import LoopSettings, train_passes
    from training.precision import Precision

    def photos(split, first, last):
        return [
            p
            for label in ("smoking", "notsmoking")
            for p in real_photos(label, last, split)[first:]
        ]

    def decoded(paths):
        return (
            torch.stack([load_image(p, 224) for p in paths]),
            torch.tensor([float(p.name.startswith("smoking")) for p in paths]),
        )

    train, val = decoded(photos("Training", 0, 30)), decoded(photos("Validation", 0, 30))
    data = {
        "train": train,
        "val": val,
        "features": features.extract(
            "efficientnet_lite0", 224, train[0], val[0], Precision(), progress=print
        ),
    }
    config = {
        "lr": 3e-3,
        "dropout": 0.3,
        "freeze_backbone": True,
        "rotation": 10.0,
        "batch_size": 8,
        "weights": "imagenet",
    }
    members = []
    for seed in (1, 2, 3):
        *_, (_, state) = train_passes(
            config,
            LoopSettings(model="efficientnet_lite0", image_size=224, max_epochs=4, seed=seed),
            data,
        )
        members.append(state["model"])
    copy_photos(photos("Training", 30, 60), tmp_path / "photos")
    model_file.save(
        tmp_path / "ensemble.pt",
        [("efficientnet_lite0", config, m, 224) for m in members],
        Precision(),
        {"test": "ensemble"},
        hflip_tta=True,
    )
    done = run_cli(
        "tune.evaluate",
        "--model",
        str(tmp_path / "ensemble.pt"),
        "--data",
        str(tmp_path / "photos"),
        "--out",
        str(tmp_path / "ensemble.json"),
    )
    assert done.returncode == 0, done.stderr
    ensemble = json.loads((tmp_path / "ensemble.json").read_text())
    # evaluate's figures are those of the members' probabilities averaged, each member on every
    # photo and on its mirror image, as computed here one member at a time
    images, labels = decoded(sorted((tmp_path / "photos").iterdir()))
    probabilities = []
    for state in members:  # each member alone, as a single-model file
        model_file.save(
            tmp_path / "member.pt", [("efficientnet_lite0", config, state, 224)], Precision(), {}
        )
        model, _ = model_file.load(tmp_path / "member.pt")
        for view in (images, images.flip(-1)):
            probabilities.append(torch.sigmoid(model.logits({224: view}.get)))
    averaged = torch.stack(probabilities).mean(0)
    assert ensemble["n"] == 60
    assert ensemble["correct"] == int(((averaged > 0.5) == labels.bool()).sum())
    # predict: the ensemble's probability is the mean of its members' on the photo and on its
    # mirror image
    photo = sorted((tmp_path / "photos").iterdir())[0]
    done = run_cli(
        "tune.predict", "--model", str(tmp_path / "ensemble.pt"), str(photo), "--format", "csv"
    )
    assert done.returncode == 0, done.stderr
    image = load_image(photo, 224)[None]
    expected = []
    for state in members:
        model_file.save(
            tmp_path / "member.pt", [("efficientnet_lite0", config, state, 224)], Precision(), {}
        )
        model, _ = model_file.load(tmp_path / "member.pt")
        expected += [
            torch.sigmoid(model.logits({224: view}.get)) for view in (image, image.flip(-1))
        ]
    assert pd.read_csv(pd.io.common.StringIO(done.stdout)).p_smoking[0] == pytest.approx(
        float(torch.cat(expected).mean()), abs=1e-3
    )


def test_an_ensemble_of_models_with_other_input_sizes_feeds_each_its_own(tmp_path):
    """A search that chooses its backbone promotes members of different input sizes (Lite0 takes
    224, Lite1 240): evaluate and predict decode each photo once per size, and each member sees
    the photo at its own size, as in its trials."""
    from training.precision import Precision

    config = {"dropout": 0.0, "freeze_backbone": True}
    # the heads: random, which is all this needs (different members, different sizes)
    torch.manual_seed(0)
    members = [
        (
            name,
            config,
            build_model(name, {**config, "weights": "imagenet"}, size).state_dict(),
            size,
        )
        for name, size in (("efficientnet_lite0", 224), ("efficientnet_lite1", 240))
    ]
    model_file.save(tmp_path / "mixed.pt", members, Precision(), {"test": "mixed sizes"})
    photos = real_photos("smoking", 2, "Validation") + real_photos("notsmoking", 2, "Validation")
    copy_photos(photos, tmp_path / "photos")
    done = run_cli(
        "tune.predict",
        "--model",
        str(tmp_path / "mixed.pt"),
        str(tmp_path / "photos"),
        "--format",
        "csv",
    )
    assert done.returncode == 0, done.stderr
    predicted = pd.read_csv(pd.io.common.StringIO(done.stdout)).p_smoking
    expected = []
    # each member alone, on the photos decoded at its size
    for name, _, state_dict, size in members:
        model = build_model(name, {**config, "weights": "none"}, size)
        model.load_state_dict(state_dict)
        images = torch.stack([load_image(p, size) for p in sorted((tmp_path / "photos").iterdir())])
        expected.append(torch.sigmoid(predict_logits(model, images, "imagenet")))
    assert predicted.tolist() == pytest.approx(torch.stack(expected).mean(0).tolist(), abs=1e-4)
    assert torch.load(tmp_path / "mixed.pt", weights_only=True)["members"][1]["image_size"] == 240
    done = run_cli(
        "tune.evaluate",
        "--model",
        str(tmp_path / "mixed.pt"),
        "--data",
        str(tmp_path / "photos"),
        "--out",
        str(tmp_path / "mixed.json"),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "mixed.json").read_text())["n"] == 4
