"""Everything a person opens in results/<experiment>/, written atomically (temp file + rename),
so an interrupted write never leaves a half file where a good one was."""
import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from tune import METRIC, MODE


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_json(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def trials_table(result_grid, baseline: dict, max_epochs: int) -> pd.DataFrame:
    """One row per trial: params, epochs run, status, best and last validation metrics, wall time."""
    rows = []
    for result in result_grid:
        history = result.metrics_dataframe
        tag = (result.metrics or {}).get("experiment_tag", "")
        row = {"trial": int(tag.split("_")[0]) - 1 if tag else None,  # 0 = the first one started
               "trial_id": Path(result.path).name,  # our trial folders are named by trial id
               "baseline": all(result.config.get(k) == v for k, v in baseline.items())}
        row.update({f"param_{k}": v for k, v in result.config.items()})
        if history is None or history.empty or METRIC not in history:
            row.update({"status": "ERROR" if result.error else "NO RESULT", "epochs": 0})
        else:
            best = history.loc[history[METRIC].idxmin() if MODE == "min" else history[METRIC].idxmax()]
            last = history.iloc[-1]
            epochs = int(last["epoch"])
            row.update({
                "status": "ERROR" if result.error else ("COMPLETED" if epochs >= max_epochs else "STOPPED"),
                "epochs": epochs, "best_epoch": int(best["epoch"]),
                "best_val_loss": best["val_loss"], "best_val_acc": best["val_acc"], "best_val_auc": best["val_auc"],
                "last_val_loss": last["val_loss"], "last_val_acc": last["val_acc"],
                "last_train_acc": last["train_acc"], "wall_time_s": last["time_total_s"]})
        row["error"] = str(result.error).splitlines()[0] if result.error else ""
        rows.append(row)
    table = pd.DataFrame(rows)
    if "best_val_loss" in table:
        table = table.sort_values("best_val_loss", ascending=(MODE == "min"), na_position="last")
    return table.reset_index(drop=True)


def best_trial(result_grid, exp_dir: Path) -> dict | None:
    """The best epoch of any trial, by the search metric, with the checkpoint saved at it."""
    try:
        result = result_grid.get_best_result(metric=METRIC, mode=MODE, scope="all")
    except RuntimeError:
        return None  # no trial reported anything
    history = result.metrics_dataframe
    best = history.loc[history[METRIC].idxmin() if MODE == "min" else history[METRIC].idxmax()]
    checkpoint = result.get_best_checkpoint(METRIC, MODE)
    return {"trial_id": best["trial_id"], "config": result.config, "epoch": int(best["epoch"]),
            "val_loss": float(best["val_loss"]), "val_acc": float(best["val_acc"]),
            "val_auc": float(best["val_auc"]), "checkpoint": os.path.relpath(checkpoint.path, exp_dir) if checkpoint else None}


def percent(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def summary_markdown(exp: dict, table: pd.DataFrame, best: dict | None) -> str:
    lines = [f"# Experiment {exp['name']}", "",
             f"- Space: `{exp['space']}` (model `{exp['model']}`, data set `{exp['dataset']}` in {exp['dataset_dir']})",
             f"- Split sizes: " + ", ".join(f"{k} {v}" for k, v in exp["split_sizes"].items())
             + " (test untouched by the search)",
             f"- Trials: {len(table)} of {exp['num_samples']} asked, up to {exp['max_epochs']} epochs each, "
             f"seed {exp['seed']}; searched by Optuna TPE, stopped early by ASHA on {METRIC} ({MODE})",
             f"- Wall time: {exp.get('wall_time_s', 0):.0f} s", ""]
    if best:
        lines += ["## Best trial", "",
                  f"Trial `{best['trial_id']}`, epoch {best['epoch']}: val loss {best['val_loss']:.4f}, "
                  f"val accuracy {percent(best['val_acc'])}, val ROC AUC {best['val_auc']:.3f}.", "",
                  "```json", json.dumps(best["config"], indent=2), "```", ""]
    base = table[table["baseline"]] if "baseline" in table else table.iloc[0:0]
    if len(base) and "best_val_acc" in base:
        b = base.iloc[0]
        lines += ["## The seed report's hand-tuned baseline", "",
                  f"Trial `{b['trial_id']}`: best val loss {b['best_val_loss']:.4f}, "
                  f"val accuracy {percent(b['best_val_acc'])} ({b['status'].lower()} after {b['epochs']} epochs).", ""]
    columns = [c for c in ["trial", "trial_id", "baseline", "status", "epochs", "best_val_loss", "best_val_acc",
                           "best_val_auc", "wall_time_s"] if c in table]
    lines += ["## Trials (best first)", "", table[columns].to_markdown(index=False, floatfmt=".4f"), "",
              "Every trial's parameters: `trials.csv`. Ray's own experiment folder, for "
              "`Tuner.restore` and TensorBoard: `ray/`.", ""]
    return "\n".join(lines)
