"""--top-k K: the K best configs retrained from scratch with several seeds, the winner the best
by mean validation loss (a guard against a lucky trial)."""

import sys

import pandas as pd
from tqdm import tqdm

from training.loop import train_passes
from tune import METRIC, experiment, trial_inputs
from tune.errors import UsageError
from tune.experiment import Experiment
from tune.results import percent


def choose(opened: Experiment, top_k: int, seeds: int) -> tuple[pd.Series, dict]:
    """The winner's row of the trial table, and how it was chosen: the best trial (--top-k 1), or
    the config best by mean validation loss retrained from scratch."""
    table = opened.table()
    finished = table[table["epochs"] > 0] if len(table) else table
    if finished.empty:
        raise UsageError(
            f"experiment {opened.name} has no trial with a finished epoch yet: nothing to promote"
        )
    if top_k == 1:
        return finished.iloc[0], {"method": f"best {METRIC} of any trial's epoch during the search"}
    candidates = finished.head(top_k)
    print(f"Retraining the top {len(candidates)} configs with {seeds} seeds each ...")
    scores = retrain_scores(opened, candidates, seeds)
    means = scores.groupby("trial_id")[["val_loss", "val_acc"]].mean().sort_values("val_loss")
    winner_id = means.index[0]
    margin = means["val_loss"].iloc[1] - means["val_loss"].iloc[0] if len(means) > 1 else None
    return candidates[candidates["trial_id"] == winner_id].iloc[0], {
        "method": (
            f"top {len(candidates)} configs retrained from scratch with {seeds} seeds; "
            f"best mean {METRIC}"
        ),
        "mean_by_trial": means.reset_index().to_dict(orient="records"),
        "runs": scores.to_dict(orient="records"),
        "margin_val_loss": margin,
    }


def retrain_scores(opened: Experiment, candidates: pd.DataFrame, seeds: int) -> pd.DataFrame:
    """Each candidate config trained from scratch with `seeds` seeds, in the search's precision;
    its best val loss per seed."""
    data, exp = trial_inputs.trial_data(opened.folder), opened.settings
    rows = []
    configs = {
        row["trial_id"]: opened.best_checkpoint(row["trial_id"])[0]
        for _, row in candidates.iterrows()
    }
    runs = [(row, seed) for _, row in candidates.iterrows() for seed in range(1, seeds + 1)]
    # a live bar on a terminal (as tune/engine/progress.py), one line per run everywhere
    with tqdm(total=len(runs), desc="retraining", unit="run", file=sys.stdout, disable=None) as bar:
        for row, seed in runs:
            config = configs[row["trial_id"]]
            settings = trial_inputs.for_trial(
                config, exp.trial_settings, seed=exp.seed + 1000 * seed
            )
            history = [
                metrics for metrics, _ in train_passes(config, settings, data[settings.model])
            ]
            best = experiment.best_row(pd.DataFrame(history))
            rows.append(
                {
                    "trial": row["trial"],
                    "trial_id": row["trial_id"],
                    "seed": settings.seed,
                    "val_loss": best["val_loss"],
                    "val_acc": best["val_acc"],
                }
            )
            tqdm.write(
                f"  retrained trial {row['trial']} with seed {settings.seed}: val loss "
                f"{best['val_loss']:.4f}, val accuracy {percent(best['val_acc'])}",
                file=sys.stdout,
            )
            bar.update()
    return pd.DataFrame(rows)
