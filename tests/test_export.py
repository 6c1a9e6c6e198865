"""`python -m tune.export`: a promoted model as one ONNX graph, which onnxruntime runs on the
experiment's real test photos as PyTorch runs the model file: a single seed CNN, an ensemble of
trials with flip TTA, and a pretrained trial averaged with the probe's networks (three input
sizes, unequal weights); a three-class ResNet18; and the bad input it refuses in one line."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx  # the export extra, which .ci/run installs: a missing one fails here
import onnxruntime
import pandas as pd
import pytest
import torch
from conftest import real_photos, run_cli, run_in_process

from data_utils.images import load_image
from models import build_model, outputs
from training.crossval import Recipe
from training.precision import FP32
from tune import experiment, export, model_file, promote
from tune.promote import probe as tune_probe

SMALL_PROBE = Recipe(members=(("efficientnet_lite1", 256), ("efficientnet_lite2", 288)))


def copied(exp_dir: Path, tmp_path: Path) -> Path:
    """The experiment in a results folder of the test's own, so promoting it again touches no
    other test's files."""
    shutil.copytree(exp_dir, tmp_path / "results" / exp_dir.name)
    return tmp_path / "results" / exp_dir.name


def promote_as(capsys, monkeypatch, exp_dir: Path, option: str, *flags) -> None:
    """`tune.promote` run in this process, promoting `option` whatever it would choose: what a
    small search's validation prefers varies, and each test needs one kind of model file."""

    def chosen(opened, members, tried, probe, photos, args):
        return next(o for o in tried if o.name == option), "the test's choice", [None]

    monkeypatch.setattr(promote.command, "choose_option", chosen)
    code, out, err = run_in_process(
        capsys, promote.main, exp_dir.name, "--results-dir", str(exp_dir.parent), *flags
    )
    assert code == 0, out[-3000:] + err[-3000:]


def export_cli(exp_dir: Path, *flags) -> str:
    done = run_cli("tune.export", exp_dir.name, "--results-dir", str(exp_dir.parent), *flags)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(done.stdout)  # the measured difference, for the test log
    return done.stdout


def assert_onnx_predicts_as_pytorch(exp_dir: Path, onnx_file: Path, count: int = 1000) -> dict:
    """onnxruntime on the (first `count`) test photos, decoded as a user would (load_image), at
    each input size, against model.pt in PyTorch (fp32): every probability within the export's
    tolerance, every label the same; all at once and one photo alone (a dynamic batch).
    Returns the graph's metadata."""
    promoted, _ = model_file.load(exp_dir / "model.pt")
    promoted.precision = FP32
    manifest = pd.read_csv(exp_dir / "manifest.csv")
    test = manifest[(manifest["split"] == "test") & (manifest["status"] == "ok")].head(count)
    paths = [Path(experiment.settings(exp_dir).dataset_dir) / p for p in test["path"]]
    at = {s: torch.stack([load_image(p, s) for p in paths]) for s in promoted.image_sizes}
    expected = outputs.probabilities(promoted.logits(at.get)).numpy()

    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == [f"images_{s}" for s in promoted.image_sizes]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    got = session.run(None, {f"images_{s}": x.numpy() for s, x in at.items()})[0]
    one = session.run(None, {f"images_{s}": x[:1].numpy() for s, x in at.items()})[0]
    assert got.shape == (len(paths), len(promoted.classes))
    assert np.abs(got - expected).max() <= export.TOLERANCE
    assert np.abs(one - expected[:1]).max() <= export.TOLERANCE
    assert (got.argmax(1) == expected.argmax(1)).all()
    assert np.allclose(got.sum(1), 1, atol=1e-5)

    metadata = {p.key: json.loads(p.value) for p in onnx.load(str(onnx_file)).metadata_props}
    assert metadata["format"] == export.FORMAT
    assert metadata["classes"] == experiment.classes(experiment.settings(exp_dir))
    assert metadata["inputs"] == [{"name": f"images_{s}", "size": s} for s in promoted.image_sizes]
    return metadata


@pytest.fixture(scope="module")
def promoted_smoke(smoke_search, tmp_path_factory):
    """The smoke search promoted as promote chooses with no flag: its best trial alone."""
    exp_dir = copied(smoke_search[0], tmp_path_factory.mktemp("export"))
    done = run_cli("tune.promote", "e2e", "--results-dir", str(exp_dir.parent))
    assert done.returncode == 0, done.stderr[-3000:]
    return exp_dir


def test_a_single_model_exports_and_onnxruntime_matches_pytorch(promoted_smoke):
    exp_dir = promoted_smoke
    assert torch.load(exp_dir / "model.pt", weights_only=True)["model"] == "seed_cnn"
    out = export_cli(exp_dir)
    assert "0 label(s) differ" in out
    assert_onnx_predicts_as_pytorch(exp_dir, exp_dir / "model.onnx")
    about = json.loads((exp_dir / "model.onnx.json").read_text())
    assert about["classes"] == ["not smoking", "smoking"]
    assert about["inputs"][0] | {"resize": None} == {
        "name": "images_64",
        "size": 64,
        "shape": ["N", 3, 64, 64],
        "layout": "NCHW",
        "dtype": "uint8",
        "channels": "RGB",
        "resize": None,
    }
    assert "BILINEAR" in about["preprocessing"] and "load_image" in about["preprocessing"]
    assert about["checked"]["labels_differing"] == 0
    assert about["checked"]["max_abs_difference"] <= export.TOLERANCE


def test_an_ensemble_with_flip_tta_exports_as_one_graph(
    smoke_search, tmp_path, capsys, monkeypatch
):
    exp_dir = copied(smoke_search[0], tmp_path)
    promote_as(
        capsys, monkeypatch, exp_dir, "ensemble of the top 2 + flip TTA", "--ensemble", "2", "--tta"
    )
    saved = torch.load(exp_dir / "model.pt", weights_only=True)
    assert saved["model"] == "ensemble" and saved["hflip_tta"] and len(saved["members"]) == 2
    onnx_file = tmp_path / "elsewhere" / "ensemble.onnx"
    export_cli(exp_dir, "--output", str(onnx_file))
    assert_onnx_predicts_as_pytorch(exp_dir, onnx_file)
    assert (tmp_path / "elsewhere" / "ensemble.onnx.json").is_file()
    assert not (exp_dir / "model.onnx").exists()


def test_a_trial_averaged_with_the_probe_exports_every_size(
    pretrained_search, tmp_path, capsys, monkeypatch
):
    """The probe's networks (EfficientNet-Lite1, TensorFlow padding, and Lite2, each at a size of
    its own, a regression as its head, each weighing a half) beside the search's Lite0 trial at
    224, with flip TTA: three inputs. The probe is a smaller one than promote's default (two
    backbones, not four, at smaller sizes: the same kind of networks, a third of the time)."""
    exp_dir = copied(pretrained_search, tmp_path)
    fit = tune_probe.fit
    monkeypatch.setattr(tune_probe, "fit", lambda photos, *_, **__: fit(photos, SMALL_PROBE))
    promote_as(capsys, monkeypatch, exp_dir, "single best + probe")
    saved = torch.load(exp_dir / "model.pt", weights_only=True)
    assert [m["weight"] for m in saved["members"]] == [1.0, 0.5, 0.5] and saved["hflip_tta"]
    out = export_cli(exp_dir)
    assert "0 label(s) differ" in out  # on every test photo; below, on a few, independently
    metadata = assert_onnx_predicts_as_pytorch(exp_dir, exp_dir / "model.onnx", count=6)
    assert [i["size"] for i in metadata["inputs"]] == [224, 256, 288]


def test_more_than_two_classes_and_resnet18_export(tmp_path):
    """A three-class ResNet18 (softmax over its three logits) through the same graph and check,
    on real photos."""
    torch.manual_seed(0)
    net = build_model("resnet18", {"weights": "none"}, 64, num_classes=3).eval()
    promoted = model_file.Promoted([(net, 64, "imagenet")], False, FP32, ["a", "b", "c"])
    photos = real_photos("smoking", 3, "Validation") + real_photos("notsmoking", 3, "Validation")
    images = {64: torch.stack([load_image(p, 64) for p in photos])}
    expected = outputs.probabilities(promoted.logits(images.get))
    export.write_graph(export.Graph(promoted).eval(), tmp_path / "r.onnx", {"classes": ["a"]})
    checked = export.check(tmp_path / "r.onnx", images, expected)
    assert checked["photos"] == 6 and checked["max_abs_difference"] <= export.TOLERANCE
    assert expected.shape == (6, 3)


def test_a_disagreement_leaves_no_file_and_exits_1(promoted_smoke, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # no difference is small enough
    results, output = str(promoted_smoke.parent), tmp_path / "m.onnx"
    code, _, err = run_in_process(
        capsys, export.main, "e2e", "--results-dir", results, "--output", str(output)
    )
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "onnxruntime and PyTorch disagree" in err and f"{output} not written" in err
    assert list(tmp_path.iterdir()) == []  # neither the graph, nor its JSON, nor a temporary file


def one_line(code: int, err: str, *words) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_bad_input_is_one_line(smoke_search, tmp_path, capsys, monkeypatch):
    results = str(tmp_path / "results")
    code, _, err = run_in_process(capsys, export.main, "nope", "--results-dir", results)
    one_line(code, err, "no experiment 'nope'")

    exp_dir = copied(smoke_search[0], tmp_path)
    (exp_dir / "model.pt").unlink(missing_ok=True)  # searched, not promoted
    done = run_cli("tune.export", "e2e", "--results-dir", results)
    one_line(done.returncode, done.stderr, "no promoted model yet", "python -m tune.promote e2e")

    for package in ("onnx", "onnxruntime"):
        with monkeypatch.context() as patched:
            patched.setitem(sys.modules, package, None)  # as if not installed
            code, _, err = run_in_process(capsys, export.main, "e2e", "--results-dir", results)
        one_line(code, err, f"needs the {package} package", "pip install -e '.[export]'")
