"""Trials as fast as the CPU allows: the precision choice, frozen backbones on cached features,
and a time budget that ends a search at an epoch boundary and resumes."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import assert_study_matches_the_trial_table, hooks_env, run_cli, tiny_data

from training import features, precision
from training.loop import LoopSettings, train_passes
from training.precision import Precision

# ---- precision -------------------------------------------------------------------------------


def test_auto_takes_what_was_measured_fastest_for_the_model_on_this_kind_of_cpu(monkeypatch):
    monkeypatch.setattr(precision, "cpu_class", lambda: "avx512_bf16")
    assert precision.choose("auto") == Precision("bf16", True)
    assert precision.choose("auto", "seed_cnn") == Precision("bf16", True)
    monkeypatch.setattr(precision, "cpu_class", lambda: "no_native_bf16")
    for model, fastest in precision.MEASURED["no_native_bf16"].items():
        assert precision.choose("auto", model) == fastest
    assert precision.choose("auto", "efficientnet_lite1") == Precision("fp32", True)
    # asked for: honoured even if emulated; fp32 keeps the measured layout
    assert precision.choose("bf16") == Precision("bf16", True)
    assert precision.choose("fp32", "efficientnet_lite1") == Precision("fp32", True)
    monkeypatch.setattr(precision, "cpu_class", lambda: "amx")
    assert precision.choose("fp32", "seed_cnn") == Precision("fp32", False)
    # with native bf16, the CNN gains from it and the Lite models' depthwise convolutions do not
    assert precision.choose("auto", "seed_cnn") == Precision("bf16", True)
    assert precision.choose("auto", "efficientnet_lite0") == Precision("fp32", True)


def test_a_cpu_with_amx_capped_below_it_counts_as_one_without(monkeypatch):
    caps = {"cpu": "x", "isa": "AVX512", "avx512_bf16": True, "amx_bf16": True, "threads": 2}
    monkeypatch.setattr(precision, "cpu_capabilities", lambda: caps)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert precision.cpu_class() == "amx"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert precision.cpu_class() == "avx512_bf16"
    monkeypatch.setattr(
        precision, "cpu_capabilities", lambda: {**caps, "avx512_bf16": False, "amx_bf16": False}
    )
    assert precision.cpu_class() == "no_native_bf16"


def test_a_recorded_bf16_falls_back_to_fp32_only_where_bf16_is_emulated(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    chosen, note = precision.usable({"dtype": "bf16", "channels_last": True})
    assert chosen == Precision("fp32", False) and "no native bf16" in note
    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    assert precision.usable({"dtype": "bf16", "channels_last": True}) == (
        Precision("bf16", True),
        None,
    )
    # experiments from before the choice
    assert precision.usable(None) == (
        Precision("fp32", False),
        None,
    )


def test_bf16_training_keeps_fp32_weights_and_learns_like_fp32():
    data = tiny_data()
    config = {"lr": 1e-3, "dropout_placement": "none", "rotation": 0.0, "batch_size": 8}
    runs = {}
    for dtype in ("fp32", "bf16"):
        settings = LoopSettings(
            model="seed_cnn",
            image_size=64,
            max_epochs=3,
            seed=0,
            precision=Precision(dtype=dtype, channels_last=dtype == "bf16"),
        )
        runs[dtype] = list(train_passes(config, settings, data))
    state = runs["bf16"][-1][1]
    assert all(t.dtype == torch.float32 for t in state["model"].values())  # saved weights stay fp32
    fp32, bf16 = runs["fp32"][-1][0], runs["bf16"][-1][0]
    assert bf16["val_loss"] == pytest.approx(fp32["val_loss"], rel=0.05)
    assert bf16["train_loss"] != fp32["train_loss"]  # bf16 really ran: not bit-identical to fp32


# ---- cached features ---------------------------------------------------------------------------


def test_a_frozen_backbone_trains_the_same_head_on_cached_features():
    """One epoch, fp32, no rotation, no dropout: the cached path and the uncached path see the same
    features in the same order, so they must train the same head."""
    data = {
        split: (torch.nn.functional.interpolate(x.float(), size=224).to(torch.uint8), y)
        for split, (x, y) in tiny_data(count=6).items()
    }
    config = {
        "lr": 1e-3,
        "dropout": 0.0,
        "freeze_backbone": True,
        "rotation": 0.0,
        "batch_size": 4,
        "weights": "imagenet",
    }
    settings = LoopSettings(model="efficientnet_lite0", image_size=224, max_epochs=1, seed=0)
    cache = features.extract(
        "efficientnet_lite0",
        224,
        data["train"][0],
        data["val"][0],
        Precision(),
        progress=lambda _: None,
    )
    assert cache["train"].shape == (12, len(features.VIEWS), 1280) and cache["val"].shape == (
        12,
        1280,
    )
    ((uncached, uncached_state),) = train_passes(config, settings, data)
    ((cached, cached_state),) = train_passes(config, settings, {**data, "features": cache})
    assert cached["val_loss"] == pytest.approx(uncached["val_loss"], rel=1e-4)
    assert cached["train_loss"] == pytest.approx(uncached["train_loss"], rel=1e-4)
    head = "net.classifier.weight"
    assert torch.allclose(cached_state["model"][head], uncached_state["model"][head], atol=1e-5)
    backbone = (
        "net.conv_stem.weight"  # frozen: unchanged, and its batch norms kept ImageNet's statistics
    )
    assert torch.equal(cached_state["model"][backbone], uncached_state["model"][backbone])
    assert torch.equal(
        uncached_state["model"]["net.bn1.running_mean"],
        cached_state["model"]["net.bn1.running_mean"],
    )


def test_cached_views_follow_the_rotation_and_flips_a_config_asks_for():
    angles = torch.tensor([angle for angle, _ in features.VIEWS])
    mirrored = torch.tensor([m for _, m in features.VIEWS])
    views = len(features.VIEWS)
    cache = {
        "train": torch.arange(4 * views).float().reshape(4, views, 1),
        "angles": angles,
        "mirrored": mirrored,
    }
    plain = features.VIEWS.index((0.0, False))
    generator = torch.Generator().manual_seed(0)

    def used(config, count=4):
        views_of = features.TrainingViews(cache, torch.zeros(4), config, generator)
        assert len(views_of) == count
        x, _ = views_of.batch(torch.arange(count).repeat(8), generator)
        return {int(v) % views for v in x.squeeze(1)}

    assert used({"rotation": 0.0}) == {plain}
    # the report's +-10 and +-20 degree copies: the +-10 degree views, never a mirrored one
    copies = used({"rotation": 0.0, "offline_rotations": True}, count=12)
    assert copies <= {
        plain,
        features.VIEWS.index((-10.0, False)),
        features.VIEWS.index((10.0, False)),
    }
    assert len(copies) == 3
    assert used({"rotation": 0.0, "hflip": True}) == {plain, features.VIEWS.index((0.0, True))}
    assert len(used({"rotation": 10.0, "hflip": True})) == views


# ---- time budget -------------------------------------------------------------------------------


def test_a_time_budget_pauses_trials_at_an_epoch_end_and_resume_finishes_them_after_a_move(
    tmp_path,
):
    # The baseline trains 40 epochs (the scheduler never stops it), made to last over a second each
    # in this first run: well past a 30-second budget on any CPU, which still leaves its worker
    # time to start.
    done = run_cli(
        "tune.run",
        "--space",
        "smoke",
        "--name",
        "budget",
        "--num-samples",
        "3",
        "--max-passes",
        "40",
        "--results-dir",
        str(tmp_path / "first"),
        "--time-budget",
        "0.5",
        env_extra=hooks_env(TUNE_TEST_SLOW_EPOCH_S="1"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        "The time budget of 0.5 min ended the search" in done.stdout
        and "--resume --name budget" in done.stdout
    )
    exp_dir = tmp_path / "first" / "budget"
    exp = json.loads((exp_dir / "experiment.json").read_text())
    assert not exp["finished"] and exp["ended_by"] == "the time budget (0.5 min)"
    assert "ended by the time budget" in (exp_dir / "summary.md").read_text()
    before = pd.read_csv(exp_dir / "trials.csv").set_index("trial")
    assert before.loc[0, "status"] == "PAUSED" and 0 < before.loc[0, "epochs"] < 40
    baseline_id = before.loc[0, "trial_id"]
    checkpoints = sorted((exp_dir / "ray" / baseline_id).glob("checkpoint_*"))
    assert (
        torch.load(checkpoints[-1] / "checkpoint.pt", weights_only=True)["epoch"]
        == before.loc[0, "epochs"]
    )

    assert_study_matches_the_trial_table(exp_dir)  # the paused trials are running, and say why

    # Moved elsewhere (every path in an experiment is relative to it), then resumed there.
    (tmp_path / "moved").mkdir()
    exp_dir = Path(shutil.move(exp_dir, tmp_path / "moved" / "budget"))
    resumed = run_cli(
        "tune.run", "--resume", "--name", "budget", "--results-dir", str(tmp_path / "moved")
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = pd.read_csv(exp_dir / "trials.csv").set_index("trial")
    assert len(after) == 3 and set(after.status) <= {"COMPLETED", "STOPPED"}
    assert after.loc[0, "status"] == "COMPLETED" and after.loc[0, "epochs"] == 40
    epochs = [
        json.loads(line)["epoch"] for line in (exp_dir / "ray" / baseline_id / "result.json").open()
    ]
    assert epochs == list(range(1, 41))  # continued from its checkpoint: no epoch trained twice
    # the moved study went on, none twice
    assert len(assert_study_matches_the_trial_table(exp_dir)) == 3
    assert json.loads((exp_dir / "experiment.json").read_text())["ended_by"] == "all trials"
