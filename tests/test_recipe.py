"""The levers the report did not try: learning-rate warm-up and cosine decay, a slower pretrained
backbone than head, label smoothing, flips, colour jitter and random resized crops."""

import copy

import optuna
import pytest
import torch
from conftest import tiny_data
from torchvision.transforms.v2 import functional as F

import search_spaces
from data_utils.transforms import augment, random_rotation
from models import INPUTS, build_model
from training.loop import LoopSettings, evaluate, make_optimizer, make_schedule, train_passes
from tune.engine.search import DefineByRun

NEW_AUGMENTATIONS = ("backbone_lr_ratio", "hflip", "color_jitter", "crop_scale")


def test_a_parameter_that_cannot_apply_to_a_frozen_backbone_is_never_suggested():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = search_spaces.load("effnet_dataset1")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {True: 0, False: 0}
    for _ in range(60):
        params = study.ask()
        DefineByRun(space)(params)
        frozen = params.params["freeze_backbone"]
        seen[frozen] += 1
        present = [name in params.params for name in NEW_AUGMENTATIONS]
        assert present == [not frozen] * len(NEW_AUGMENTATIONS), params.params
    assert min(seen.values()) > 10


@pytest.mark.parametrize(
    "name",
    [
        "cnn_dataset1",
        "cnn_dataset2",
        "effnet_dataset1",
        "resnet18_dataset1",
        "resnet18_dataset2",
        "smoke",
    ],
)
def test_every_space_still_starts_with_the_reports_config_with_the_new_levers_off(name):
    space = search_spaces.load(name)
    # the baseline is a whole config: TPE fills no gap in it
    assert set(space.baseline) == set(space.params)
    off = {
        "lr_schedule": "constant",
        "warmup_epochs": 0,
        "hflip": False,
        "color_jitter": 0.0,
        "crop_scale": 1.0,
        "label_smoothing": 0.0,
        "backbone_lr_ratio": 1.0,
    }
    assert {k: v for k, v in space.baseline.items() if k in off} == {
        k: off[k] for k in space.baseline if k in off
    }


def test_augment_without_new_levers_draws_exactly_the_reports_rotation():
    images = tiny_data(count=3)["train"][0]
    reports = random_rotation(images, 10.0, torch.Generator().manual_seed(1))
    config = {"rotation": 10.0, "hflip": False, "color_jitter": 0.0, "crop_scale": 1.0}
    assert torch.equal(augment(images, config, torch.Generator().manual_seed(1)), reports)


def test_flips_jitter_and_crops_are_drawn_per_image_from_the_trials_generator():
    images = tiny_data(count=8)["train"][0]
    flipped = augment(images, {"hflip": True}, torch.Generator().manual_seed(0))
    was_flipped = [
        torch.equal(f, F.horizontal_flip(i)) for f, i in zip(flipped, images, strict=True)
    ]
    unchanged = [torch.equal(f, i) for f, i in zip(flipped, images, strict=True)]
    assert (
        all(a or b for a, b in zip(was_flipped, unchanged, strict=True))
        and 3 <= sum(was_flipped) <= 13
    )
    config = {"hflip": True, "color_jitter": 0.3, "crop_scale": 0.6}
    first = augment(images, config, torch.Generator().manual_seed(5))
    # the generator decides ...
    assert torch.equal(first, augment(images, config, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, augment(images, config, torch.Generator().manual_seed(6)))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    augment(images, config, torch.Generator().manual_seed(5))
    assert torch.equal(torch.rand(1), before)  # ... and torch's global generator is left as it was
    assert first.shape == images.shape and first.dtype == torch.uint8


def test_warm_up_then_cosine_decay_and_a_slower_backbone():
    model = build_model("efficientnet_lite0", {"weights": "none"}, 224)
    config = {"lr": 1e-3, "backbone_lr_ratio": 0.1, "lr_schedule": "cosine", "warmup_epochs": 1}
    optimizer = make_optimizer(model, config, "efficientnet_lite0")
    head, backbone = optimizer.param_groups
    assert [p.shape for p in head["params"]] == [(1, 1280), (1,)] and len(backbone["params"]) > 100
    schedule = make_schedule(optimizer, config, steps_per_epoch=10, max_epochs=5)
    rates = []
    for _ in range(50):
        rates.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        schedule.step()
    assert rates[0][0] == pytest.approx(1e-5)  # 1% of the rate at the first step
    # warm, and 10x slower
    assert rates[10][0] == pytest.approx(1e-3) and rates[10][1] == pytest.approx(1e-4)
    assert rates[30][0] == pytest.approx(
        1e-3 * (1 + torch.cos(torch.tensor(torch.pi * 20 / 40)).item()) / 2
    )
    assert rates[49][0] < 1e-5 and all(
        a[0] >= b[0] for a, b in zip(rates[10:], rates[11:], strict=False)
    )
    # the report's constant rate: no scheduler
    assert make_schedule(optimizer, {"lr": 1e-3}, 10, 5) is None


def test_a_resumed_trial_with_every_lever_trains_exactly_as_an_uninterrupted_one():
    data = tiny_data(count=6)
    config = {
        "lr": 1e-3,
        "dropout_placement": "after_fc1",
        "dropout_after_fc1": 0.3,
        "rotation": 10.0,
        "batch_size": 4,
        "lr_schedule": "cosine",
        "warmup_epochs": 1,
        "hflip": True,
        "color_jitter": 0.3,
        "crop_scale": 0.7,
        "label_smoothing": 0.1,
    }
    settings = LoopSettings(model="seed_cnn", image_size=64, max_epochs=3, seed=0)
    straight = [metrics for metrics, _ in train_passes(config, settings, data)]
    # the same schedule (it spans max_epochs), stopped after 2
    interrupted = train_passes(config, settings, data)
    next(interrupted)
    state = copy.deepcopy(next(interrupted)[1])
    interrupted.close()
    continued = [metrics for metrics, _ in train_passes(config, settings, data, state=state)]
    assert continued[0] == straight[2]
    plain = next(train_passes({**config, "label_smoothing": 0.0}, settings, data))[0]
    # smoothing changes the training loss ...
    assert plain["train_loss"] != straight[0]["train_loss"]
    # ... while val_loss stays the plain cross-entropy of the model on the validation photos
    smoothed, state = next(train_passes(config, settings, data))
    model = build_model("seed_cnn", config, 64)
    model.load_state_dict(state["model"])
    plain_loss = evaluate(model, *data["val"], INPUTS["seed_cnn"][1])["loss"]
    assert smoothed["val_loss"] == pytest.approx(plain_loss, abs=1e-6)
