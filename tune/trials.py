"""Print an experiment's trial table: `python -m tune.trials EXP`. Works while the search runs."""

import sys

import pandas as pd

from tune import experiment
from tune.cli import ArgumentParser, int_at_least, run_main
from tune.errors import UsageError

STATUSES = ["COMPLETED", "STOPPED", "RUNNING", "PENDING", "PAUSED", "ERROR"]
BRIEF = [
    "trial",
    "trial_id",
    "baseline",
    "status",
    "epochs",
    "best_val_loss",
    "best_val_acc",
    "best_val_auc",
    "last_val_acc",
    "wall_time_s",
]


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.trials", description="One row per trial of an experiment."
    )
    p.add_argument("experiment", help="experiment name (a folder of --results-dir)")
    p.add_argument("--results-dir", default="results")
    p.add_argument(
        "--sort",
        help="column to sort by (default: best_val_loss); accuracy and AUC sort high first",
    )
    p.add_argument(
        "--status",
        action="append",
        type=str.upper,
        choices=STATUSES,
        help="only trials in this status",
    )
    p.add_argument("--top", type=int_at_least(1), help="only the first N rows")
    p.add_argument("--format", choices=["table", "csv", "markdown", "json"], default="table")
    return p.parse_args(argv)


def select(
    table: pd.DataFrame, sort: str | None, statuses: list | None, top: int | None
) -> pd.DataFrame:
    if sort:
        column = sort if sort in table else f"param_{sort}"
        if column not in table:
            raise UsageError(f"--sort {sort}: no such column; columns: {', '.join(table.columns)}")
        high_first = column.endswith(("_acc", "_auc"))
        table = table.sort_values(
            column, ascending=not high_first, na_position="last", kind="stable"
        )
    if statuses:
        table = table[table["status"].isin(statuses)]
    return table.head(top) if top else table


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=2, double_precision=15)
    if fmt == "markdown":
        return table.to_markdown(index=False, floatfmt=".4g")
    params = [c for c in table if c.startswith("param_")]
    brief = table[
        [c for c in BRIEF[:4] if c in table] + params + [c for c in BRIEF[4:] if c in table]
    ]
    return brief.rename(columns=lambda c: c.removeprefix("param_")).to_string(
        index=False, float_format="{:.4g}".format
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    exp_dir = experiment.find(args.results_dir, args.experiment)
    table = experiment.trials_table(exp_dir)
    if table.empty:
        print(f"Experiment {args.experiment} has no trials yet.", file=sys.stderr)
        return 0
    selected = select(table, args.sort, args.status, args.top)
    if selected.empty:
        print(
            f"No trial of {len(table)} matches --status {' '.join(args.status)}.", file=sys.stderr
        )
        return 0
    print(render(selected, args.format))
    return 0


if __name__ == "__main__":
    run_main(main)
