"""Models in from the ecosystem (models/zoo.py, models/weights.py): any timm backbone by name,
its weights from a file, the library's cache or its download, and where they came from
recorded; offline with nothing cached, one line within seconds."""

import hashlib
import json
import time

import pytest
import timm
import torch
from conftest import copy_photos, real_photos, run_cli

from models import build_model, check_pretrained_weights, imagenet_state, resnet18
from models.resnet import MissingWeightsError

NAME = "timm/test_efficientnet"  # timm's own tiny test network (160 px)

SPACE = f'''"""A timm backbone of one's own, its weights from --weights-file."""
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "small"
model = "{NAME}"
num_samples = 2
max_passes = 2
params = {{"lr": Float(1e-4, 1e-2, log=True), "freeze_backbone": Choice([True, False])}}
fixed = {{"weights": "imagenet", "batch_size": 8, "dropout": 0.1}}
baseline = {{"lr": 1e-3, "freeze_backbone": False}}
'''


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A random-initialised network saved as a user's weights file (nothing is downloaded)."""
    path = tmp_path_factory.mktemp("weights") / "test_efficientnet.pth"
    torch.manual_seed(0)
    torch.save(timm.create_model("test_efficientnet").state_dict(), path)
    return path


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_timm_backbone_starts_from_its_weights_file_frozen_or_not(weights_file):
    reference = timm.create_model("test_efficientnet")
    reference.load_state_dict(torch.load(weights_file, weights_only=True))
    state = imagenet_state(NAME, str(weights_file))
    for freeze in (False, True):
        model = build_model(NAME, {"weights": "imagenet", "freeze_backbone": freeze}, 160, state)
        assert torch.equal(model.net.conv_stem.weight, reference.conv_stem.weight)
        learns = [name for name, p in model.named_parameters() if p.requires_grad]
        assert all(n.startswith("net.classifier.") for n in learns) == freeze
        assert model(torch.zeros(2, 3, 160, 160)).shape == (2,)  # one logit: two classes


def test_a_timm_backbone_searched_promoted_evaluated_and_predicted(weights_file, tmp_path):
    for split, count in (("Training", 16), ("Validation", 6)):
        for label in ("smoking", "notsmoking"):
            copy_photos(
                real_photos(label, count, split), tmp_path / "data" / "small" / split / split
            )
    space = tmp_path / "my_timm.py"
    space.write_text(SPACE)
    results = tmp_path / "results"
    done = run_cli(
        *("tune.run", "--space", str(space), "--data-root", str(tmp_path / "data")),
        *("--weights-file", str(weights_file), "--results-dir", str(results), "--name", "zoo"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp_dir = results / "zoo"
    inputs = json.loads((exp_dir / "experiment.json").read_text())["trial_settings"]["inputs"]
    recorded = inputs[NAME]["weights"]
    assert inputs[NAME]["image_size"] == 160
    assert recorded["origin"] == "--weights-file" and recorded["sha256"] == sha256(weights_file)

    done = run_cli("tune.promote", "zoo", "--results-dir", str(results), "--no-probe")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    saved = torch.load(exp_dir / "model.pt", weights_only=True)
    assert saved["model"] == NAME and saved["weights_source"] == recorded
    photos = tmp_path / "data" / "small" / "Validation"
    done = run_cli("tune.evaluate", "--model", str(exp_dir / "model.pt"), "--data", str(photos))
    assert done.returncode == 0 and "12 images" in done.stdout, done.stdout + done.stderr
    one = next((photos / "Validation").glob("*.jpg"))
    done = run_cli("tune.predict", "--model", str(exp_dir / "model.pt"), str(one))
    assert done.returncode == 0 and one.name in done.stdout, done.stdout + done.stderr


def test_offline_with_nothing_cached_a_timm_space_is_one_line_within_seconds(tmp_path):
    space = tmp_path / "my_timm.py"
    space.write_text(SPACE.replace(NAME, "timm/convnext_atto"))
    started = time.time()
    done = run_cli(
        *("tune.run", "--space", str(space), "--results-dir", str(tmp_path / "results")),
        env_extra={"HF_HOME": str(tmp_path / "hf")},  # an empty Hugging Face cache
    )
    assert done.returncode == 2 and time.time() - started < 60, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--weights-file" in lines[0] and "convnext_atto" in lines[0]
    assert not (tmp_path / "results").exists()  # nothing half-written


def test_resnet18_weights_in_torch_hubs_cache_are_used_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="--weights-file"):  # none there, no network
        check_pretrained_weights("resnet18", {"imagenet"})
    cached = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(resnet18("none").net.state_dict(), cached)
    source = check_pretrained_weights("resnet18", {"imagenet"})
    assert source["path"] == str(cached) and source["sha256"] == sha256(cached)
    assert source["origin"].startswith("torchvision https://download.pytorch.org/")
