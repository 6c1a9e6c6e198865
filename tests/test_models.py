"""The report's CNN with each dropout placement, and ResNet18's weights handling offline."""

import pytest
import torch
from torch import nn

from models import MissingWeightsError, SeedCNN, build_model, imagenet_state, resnet18


def dropouts(model):
    return [m.p for m in model.modules() if isinstance(m, nn.Dropout)]


@pytest.mark.parametrize(
    "placement,rates,layers",
    [
        ("none", [], "Flatten Linear ReLU Linear"),
        ("before_fc1", [0.6], "Flatten Dropout Linear ReLU Linear"),
        ("after_fc1", [0.4], "Flatten Linear ReLU Dropout Linear"),
        ("both", [0.6, 0.4], "Flatten Dropout Linear ReLU Dropout Linear"),
    ],
)
def test_dropout_placements(placement, rates, layers):
    config = {"dropout_placement": placement, "dropout_before_fc1": 0.6, "dropout_after_fc1": 0.4}
    model = build_model("seed_cnn", config, image_size=256)
    assert dropouts(model) == rates
    assert (
        " ".join(type(m).__name__ for m in model.classifier if not isinstance(m, nn.Identity))
        == layers
    )


def test_seed_cnn_is_the_reports_network():
    model = SeedCNN(256)
    assert model.classifier[2].in_features == 128 * 32 * 32
    assert [c.out_channels for c in model.features if isinstance(c, nn.Conv2d)] == [32, 64, 128]
    assert model(torch.zeros(2, 3, 256, 256)).shape == (2,)


def test_resnet18_without_weights_has_one_logit():
    model = resnet18("none", dropout=0.3)
    assert model(torch.zeros(2, 3, 224, 224)).shape == (2,)
    assert dropouts(model) == [0.3]


def test_resnet18_imagenet_loads_exactly_the_given_file(tmp_path):
    """--weights-file: the driver reads the file once (imagenet_state) and hands the tensors on."""
    reference = resnet18("none").net
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    state.update({"fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)})
    torch.save(state, tmp_path / "weights.pth")
    model = build_model(
        "resnet18",
        {"weights": "imagenet"},
        224,
        imagenet_state("resnet18", str(tmp_path / "weights.pth")),
    )
    assert torch.equal(model.net.conv1.weight, reference.conv1.weight)


def test_resnet18_imagenet_without_weights_says_how_to_provide_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="--weights-file"):
        resnet18("imagenet")


def test_resnet18_imagenet_reads_torch_hubs_cache(tmp_path, monkeypatch):
    """Offline, `weights=imagenet` loads exactly the file in torch hub's cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = resnet18("none").net
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    state.update({"fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)})
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(state, tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    model = resnet18("imagenet")
    assert torch.equal(model.net.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
