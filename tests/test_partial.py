"""Partial fine-tuning on activations computed once (training/features.py, models/efficientnet.py
PartialBackbone): the frozen part never changes, its cached output is what a fresh forward pass
gives, and a resumed partial trial trains exactly as an uninterrupted one."""

import io
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_data
from torchvision.transforms.v2.functional import rotate

from data_utils.transforms import to_float
from models import build_model
from training import crossval, features
from training.loop import LoopSettings, train_passes, uses_cached_activations
from training.precision import Precision
from tune.promote import cv_choice

NAME, SIZE = "efficientnet_lite0", 64  # 64 px: a 2 x 2 last stage, seconds per test


def config(stages: int) -> dict:
    return {
        "weights": "imagenet",
        "freeze_backbone": True,
        "unfrozen_stages": stages,
        "lr": 1e-2,
        "batch_size": 4,
        "rotation": 10.0,
        "hflip": True,
        "dropout": 0.2,
        "lr_schedule": "cosine",
    }


SETTINGS = LoopSettings(model=NAME, image_size=SIZE, max_epochs=3, seed=0)


@pytest.fixture(scope="module")
def data() -> dict:
    data = tiny_data(count=6, size=SIZE)
    cache = features.extract(
        NAME, SIZE, data["train"][0], data["val"][0], Precision(), progress=print, cut_stages=2
    )
    return {**data, "features": cache}


@pytest.mark.parametrize("path", ["cached", "photos"])
def test_a_partial_trials_frozen_layers_stay_bit_identical(data, path):
    """The last `stages` trained, on their cached input or on the photos (a refit, a search
    without the cache): everything before them must not move, batch-norm statistics included
    (the photos run through them in eval mode), while those stages, the head convolution and
    the classifier learn."""
    stages = 1 if path == "cached" else 2
    if path == "photos":
        data = {split: data[split] for split in ("train", "val")}
    assert uses_cached_activations(config(stages), data) == (path == "cached")
    before = build_model(NAME, config(stages), SIZE).state_dict()
    *_, (_, state) = train_passes(config(stages), replace(SETTINGS, max_epochs=2), data)
    after = state["model"]
    first = 7 - stages
    frozen = ("net.conv_stem.", "net.bn1.", *(f"net.blocks.{i}." for i in range(first)))
    for name, tensor in before.items():
        if name.startswith(frozen):
            assert torch.equal(after[name], tensor), f"{name} changed"
    learn = (
        f"net.blocks.{first}.0.conv_pw.weight",
        "net.conv_head.weight",
        "net.classifier.weight",
    )
    for name in learn:
        assert not torch.equal(after[name], before[name]), f"{name} did not learn"
    assert not torch.equal(after["net.bn2.running_mean"], before["net.bn2.running_mean"])


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_cached_activations_equal_a_fresh_forward_of_the_frozen_layers(dtype):
    """Every view of every photo: the cache holds what the frozen stem and first five (six)
    stages give in the same precision, stored as fp16, and the pooled features of the whole
    network."""
    precision = Precision(dtype, dtype == "bf16")
    photos = tiny_data(count=2, size=SIZE)
    train_x, val_x = photos["train"][0], photos["val"][0]
    cache = features.extract(
        NAME, SIZE, train_x, val_x, precision, progress=lambda _: None, cut_stages=2
    )
    model = precision.model(build_model(NAME, {"freeze_backbone": True}, SIZE)).eval()
    net = model.net

    @torch.no_grad()
    def fresh(images, stage):
        with precision.autocast():
            x = precision.batch(to_float(images, "imagenet"))
            return net.blocks[:stage](net.bn1(net.conv_stem(x))).to(features.CUT_DTYPE)

    def turned(images, angle, mirrored):  # each view made here, not by features.view
        images = rotate(images, angle) if angle else images
        return torch.flip(images, dims=[-1]) if mirrored else images

    for k in (1, 2):
        assert cache[f"train_cut{k}"].shape[:2] == (len(train_x), len(features.VIEWS))
        for v, (angle, mirrored) in enumerate(features.VIEWS):
            cut = fresh(turned(train_x, angle, mirrored), 7 - k)
            assert torch.equal(cache[f"train_cut{k}"][:, v], cut), (k, angle, mirrored)
        assert torch.equal(cache[f"val_cut{k}"], fresh(val_x, 7 - k))
    with torch.no_grad(), precision.autocast():
        pooled = net.global_pool(net.forward_features(precision.batch(to_float(val_x, "imagenet"))))
    assert torch.equal(cache["val"], pooled.float())


def test_a_partial_network_from_its_cached_input_gives_the_whole_networks_logits(data):
    model = build_model(NAME, config(2), SIZE).eval()
    with torch.no_grad():
        whole = model(to_float(data["val"][0], "imagenet"))
        from_cache = model.from_stage(data["features"]["val_cut2"].float(), 5)
    assert torch.allclose(whole, from_cache, atol=1e-2)  # the cache is fp16


def test_a_resumed_partial_trial_trains_exactly_as_an_uninterrupted_one(data):
    whole = list(train_passes(config(2), SETTINGS, data))
    settings = replace(SETTINGS, max_passes=3)
    first, state = next(train_passes(config(2), settings, data))
    saved = io.BytesIO()
    torch.save(state, saved)  # as the trial saves it, when the pass ends
    saved.seek(0)
    state = torch.load(saved, weights_only=True)
    rest = list(train_passes(config(2), settings, data, state))
    assert [m for m, _ in whole] == [first] + [m for m, _ in rest]
    for name, tensor in whole[-1][1]["model"].items():
        assert torch.equal(rest[-1][1]["model"][name], tensor), name


def test_the_cache_is_built_once_and_a_killed_build_leaves_nothing_half_written(tmp_path):
    path, built = Path(tmp_path) / "features_x.pt", []

    def build():
        built.append(1)
        return {"train": torch.arange(3)}

    def dies():
        raise KeyboardInterrupt  # a build that never finishes

    class Unsaved:
        def __reduce__(self):
            raise KeyboardInterrupt  # killed half-way through writing the file

    for dying in (dies, lambda: {"train": torch.arange(3), "then": Unsaved()}):
        with pytest.raises(KeyboardInterrupt):
            features.load_or_build(path, dying)
        assert not path.exists() and not path.with_name(path.name + ".tmp").exists()
    assert not features.building(path)
    first = features.load_or_build(path, build)
    again = features.load_or_build(path, build)
    assert built == [1] and torch.equal(first["train"], again["train"])


def test_a_build_killed_with_sigkill_releases_the_cache_to_the_next_trial(tmp_path):
    """A trial killed mid-build (kill -9: no finally runs) holds the lock no longer: the next one
    builds the cache at once, over whatever the dead one half wrote."""
    path = tmp_path / "features_x.pt"
    builder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from training import features; "
            "features.load_or_build(Path(sys.argv[1]), lambda: time.sleep(600))",
            str(path),
        ],
        cwd=Path(__file__).parents[1],
    )
    try:
        deadline = time.time() + 60
        while not features.building(path):
            assert time.time() < deadline and builder.poll() is None, "the builder never started"
            time.sleep(0.1)
        path.with_name(path.name + ".tmp").write_bytes(b"half a file")
        builder.send_signal(signal.SIGKILL)
        builder.wait(10)
        assert not features.building(path)
        cache = features.load_or_build(path, lambda: {"train": torch.ones(2)})
        assert torch.equal(cache["train"], torch.ones(2))
    finally:
        builder.kill()


# ---- promotion by cross-validation ----------------------------------------------------------


def test_a_cached_trial_is_cross_validated_on_the_probes_folds_every_photo_held_out_once(data):
    """Train + val as one set (val photos in their one view), 5 folds: out-of-fold
    probabilities for every photo, each fold's accuracy those of its held-out photos."""
    labels = torch.cat([data["train"][1], data["val"][1]])
    cache = crossval.joined(data["features"])
    assert cache["train_cut2"].shape[:2] == (len(labels), len(features.VIEWS))
    settings = replace(SETTINGS, max_passes=3)
    cv = crossval.cross_validate_trial(config(2), settings, cache, labels, passes=2)
    y = labels.numpy().astype(int)
    assert cv["oof"].shape == (len(y), 2) and (cv["oof"].sum(1) > 0.99).all()
    for (_, held), accuracy in zip(crossval.folds(y), cv["accuracy"], strict=True):
        assert accuracy == pytest.approx((cv["oof"][held].argmax(1) == y[held]).mean())


def test_promotion_ranks_its_options_by_cross_validation_where_it_covers_them():
    from dataclasses import replace

    from tune.promote.options import Option
    from tune.promote.probe import Probe

    def option(name, members, flip, probe, val_loss):
        return Option(name, members, flip, probe, val_loss, val_acc=0.0, logits=None, test={})

    def probe(oof):
        return Probe(recipe=None, summary={}, oof=oof, logits={}, networks=[])

    y = np.array([0, 1] * 10)
    sure = np.stack([1.0 - y, y], axis=1) * 0.9 + 0.05  # right, 95% sure
    unsure = np.full((20, 2), 0.5)
    tried = [
        option("single best", 1, False, False, 0.3),
        option("top 2", 2, False, False, 0.2),
        option("probe", 0, False, True, 0.1),
        option("best + flip", 1, True, False, 0.05),
    ]
    chosen, how = cv_choice.rank(tried, [{"oof": sure}, {"oof": unsure}], probe(unsure), y)
    assert chosen.name == "single best" and "cross-validation" in how
    # the probe with its own flip TTA (as promote lists it) is covered, and wins when better
    flipped_probe = replace(tried[2], hflip_tta=True)
    chosen, _ = cv_choice.rank([tried[0], flipped_probe], [{"oof": unsure}], probe(sure), y)
    assert chosen.name == "probe"
    assert tried[1].cv_loss == pytest.approx(crossval.log_loss((sure + unsure) / 2, y))
    assert tried[3].cv_loss is None  # flip TTA: validation photos are cached unmirrored only
    # a best trial that cannot be retrained per fold (a fine-tuned one): validation decides
    chosen, how = cv_choice.rank(tried, [None, {"oof": unsure}], probe(unsure), y)
    assert chosen.name == "best + flip" and how == "validation loss"
