"""What a promotion writes: test_scores.json, model.pt, the leaderboard's row, the study's note,
summary.md and the report."""

import time
from pathlib import Path

import pandas as pd

from models import weights
from models.efficientnet import SHIPPED
from tune import experiment, model_file, study, trial_inputs
from tune.experiment import Experiment
from tune.promote.members import Member
from tune.promote.options import probe_weight
from tune.report import write_report
from tune.results import summary_markdown, write_atomic, write_json
from tune.settings import Settings


def save_promotion(
    opened: Experiment, scores: dict, members: list[Member], chosen, probe, precision, results_dir
) -> None:
    """test_scores.json, model.pt, the leaderboard row, the study's note, summary and report."""
    exp_dir, exp = opened.folder, opened.settings
    write_json(exp_dir / "test_scores.json", scores)
    saved = []  # (model name, config, weights, input size) of each model promoted
    for member in members[: chosen.members]:
        trial = trial_inputs.for_trial(member.config, exp.trial_settings)
        saved.append((trial.model, member.config, member.model.state_dict(), trial.image_size))
    weights = [1.0] * len(saved)
    if chosen.probe:
        saved += [(name, c, net.state_dict(), size) for name, c, net, size in probe.networks]
        weights += [probe_weight(probe)] * len(probe.networks)
    winner = scores["winner"]
    about = {"experiment": exp.name, "trial_id": winner["trial_id"]}
    about["checkpoint"] = winner["checkpoint"]
    if "ensemble" in winner:
        about["ensemble"] = winner["ensemble"]
    model_file.save(
        exp_dir / "model.pt",
        saved,
        precision,
        about,
        hflip_tta=chosen.hflip_tta,
        classes=experiment.classes(exp),
        weights=weights,
        weights_sources=weights_sources(exp, saved),
    )
    update_leaderboard(Path(results_dir) / "leaderboard.csv", scores)
    study.record_test_scores(opened.study(), scores)
    table = opened.table()
    write_atomic(exp_dir / "summary.md", summary_markdown(exp, table, opened.best_trial(), scores))
    write_report(exp_dir, opened, redraw=False)  # the figures show the trials: unchanged


def weights_sources(exp: Settings, saved: list) -> dict:
    """Where each saved member's ImageNet weights came from: as the search recorded it, or (the
    probe's backbones, and searches from before it was recorded) where they are found now."""
    inputs = exp.trial_settings.inputs
    found = {}
    for name, config, _, _ in saved:
        recorded = inputs[name].weights if name in inputs else None
        if recorded or (name in SHIPPED and config.get("weights", "imagenet") == "imagenet"):
            found[name] = recorded or weights.resolve(name)
    return found


def update_leaderboard(path: Path, scores: dict) -> None:
    """One row per experiment (a new promotion replaces the experiment's old row)."""
    test = scores["winner"]["test"]
    row = {
        "experiment": scores["experiment"],
        "space": scores["space"],
        "trial_id": scores["winner"]["trial_id"],
        "test_n": test["n"],
        "test_acc": test["accuracy"],
        "test_acc_ci_low": test["accuracy_ci95"][0],
        "test_acc_ci_high": test["accuracy_ci95"][1],
        "test_auc": test["roc_auc"],
        "test_f1": test["f1"],
        "baseline_test_acc": scores.get("baseline", {}).get("test", {}).get("accuracy"),
        "mcnemar_p": scores.get("mcnemar_winner_vs_baseline", {}).get("p_value"),
        "unfinished": scores.get("unfinished", False),
        "promoted_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    board = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    if len(board):
        board = board[board["experiment"] != row["experiment"]]
    board = pd.concat([board, pd.DataFrame([row])], ignore_index=True).sort_values(
        "test_acc", ascending=False
    )
    write_atomic(path, board.to_csv(index=False))
