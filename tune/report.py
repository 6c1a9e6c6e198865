"""Pictures and a report of one experiment: `python -m tune.report EXP` writes curves.png,
params.png, importance.png and report.md into results/EXP/. No server; files open anywhere."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tune import METRIC, experiment, passes_column, study  # noqa: E402
from tune.cli import ArgumentParser, run_main  # noqa: E402
from tune.results import (  # noqa: E402
    alternatives_table,
    budget_words,
    models_words,
    percent,
    save_atomic,
    scheduler_words,
    three_places,
    write_atomic,
)
from tune.settings import Settings  # noqa: E402

CURVES = [
    ("train_acc", "train accuracy"),
    ("val_acc", "validation accuracy"),
    ("train_loss", "train loss"),
    ("val_loss", "validation loss"),
]


def curves_figure(histories: dict, best_id: str | None, baseline_id: str | None):
    """One line per trial in each panel; the best trial and the report's baseline stand out.
    The other trials are one LineCollection a panel (its gid lists them in order): a line each
    took 4 s to draw at 1,000 trials."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True)
    others = [t for t in histories if t not in (best_id, baseline_id)]
    highlighted = {
        baseline_id: {"color": "tab:orange", "linestyle": "--", "label": "report's baseline"},
        best_id: {"color": "tab:blue", "label": "best trial", "zorder": 4},
    }
    for ax, (column, title) in zip(axes.flat, CURVES, strict=True):
        grey = [
            np.column_stack([passes_column(histories[t]), histories[t][column]]) for t in others
        ]
        ax.add_collection(
            LineCollection(grey, colors="lightgray", linewidths=1, zorder=1, gid=",".join(others))
        )
        for trial_id, style in highlighted.items():  # the best last: on top if it is the baseline
            if trial_id in histories:
                history = histories[trial_id]
                ax.plot(
                    passes_column(history),
                    history[column],
                    marker=".",
                    gid=trial_id,
                    linewidth=2.5,
                    **{"zorder": 3, **style},
                )
        ax.autoscale_view()
        ax.set_title(title)
        ax.set_xlabel("passes over the training split (training images / split size)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0, 1].legend(loc="lower right")
    fig.suptitle(f"{len(histories)} trials (short lines: stopped early by the scheduler)")
    fig.tight_layout()
    return fig


def params_figure(table: pd.DataFrame, searched: dict):
    """Best validation loss of each trial against each searched hyperparameter."""
    names = [n for n in searched if f"param_{n}" in table]
    rows = -(-len(names) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(12, 3.4 * rows), sharey=True, squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        distribution, values = searched[name], table[f"param_{name}"]
        if isinstance(distribution, optuna.distributions.CategoricalDistribution):
            choices = list(distribution.choices)
            x = [choices.index(v) if v in choices else np.nan for v in values]
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(x))
            ax.scatter(np.array(x, dtype=float) + jitter, table["best_val_loss"], alpha=0.7)
            ax.set_xticks(range(len(choices)), [str(c) for c in choices], rotation=30)
        else:
            ax.scatter(values, table["best_val_loss"], alpha=0.7)
            if distribution.log:
                ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel(f"best {METRIC}\n(lower is better)")
    fig.tight_layout()
    return fig


def importances(table: pd.DataFrame, searched: dict) -> dict:
    """Optuna's own parameter importance (fANOVA) over the trials that reported a score."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line per report
    scored = optuna.create_study(direction="minimize")
    for _, row in table.dropna(subset=["best_val_loss"]).iterrows():
        params = {
            n: row[f"param_{n}"]
            for n in searched
            if f"param_{n}" in row and pd.notna(row[f"param_{n}"])
        }
        params = {n: (v.item() if hasattr(v, "item") else v) for n, v in params.items()}
        scored.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={n: searched[n] for n in params},
                value=float(row["best_val_loss"]),
            )
        )
    if len(scored.trials) < 2:
        return {}
    # 32 trees 8 deep, not Optuna's 64 trees 64 deep: at 1,000 trials 1.0 s instead of 13, the
    # shares within ~0.03 (benchmarks/README.md, "Many trials"); tens of trials grow no deeper
    return optuna.importance.get_param_importances(
        scored,
        evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0, n_trees=32, max_depth=8),
    )


def shares(exp_dir: Path, table: pd.DataFrame, searched: dict, redraw: bool) -> dict:
    """The importance shares, kept in importance.json: a promotion (redraw False, no trial
    changed) reads them back instead of fitting fANOVA again (1-2 s at 1,000 trials)."""
    kept = exp_dir / "importance.json"
    if not redraw and kept.is_file():
        return json.loads(kept.read_text())
    scores = importances(table, searched)
    write_atomic(kept, json.dumps(scores, indent=1))
    return scores


def importance_figure(scores: dict):
    fig, ax = plt.subplots(figsize=(7, 0.5 * max(len(scores), 2) + 1.2))
    names = list(scores)[::-1]
    ax.barh(names, [scores[n] for n in names])
    ax.set_xlabel(f"importance for {METRIC} (Optuna fANOVA)")
    fig.tight_layout()
    return fig


def report_markdown(
    exp: Settings, table: pd.DataFrame, scores: dict, test_scores: dict | None
) -> str:
    """report.md: the question, the data, the search, its figures, then the final test."""
    lines = search_lines(exp, table) + importance_lines(scores) + final_test_lines(exp, test_scores)
    return "\n".join(lines)


def search_lines(exp: Settings, table: pd.DataFrame) -> list[str]:
    top = table.head(10)
    columns = [
        "trial",
        "trial_id",
        "baseline",
        "status",
        "epochs",
        "best_val_loss",
        "best_val_acc",
    ] + [c for c in table if c.startswith("param_")]
    return [
        f"# Report: experiment {exp.name}",
        "",
        f"**Question.** Which training settings let the model tell {question(exp)} best, and do "
        "they beat the seed report's hand-tuned settings?",
        "",
        f"**Data.** `{exp.dataset}` ({exp.dataset_dir}); split sizes: "
        + ", ".join(f"{k} {v}" for k, v in exp.split_sizes.items())
        + "; the test split is untouched until promotion.",
        "",
        f"**Search.** Space `{exp.space}` ({models_words(exp)}); {len(table)} trials "
        f"of {exp.num_samples} asked, {budget_words(exp)}; Optuna TPE "
        f"with {scheduler_words(exp)} on {METRIC}; seed {exp.seed}; wall "
        f"time {exp.wall_time_s / 60:.1f} min.",
        "",
        "## Top trials",
        "",
        top[[c for c in columns if c in top]].to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Learning curves",
        "",
        "![curves](curves.png)",
        "",
        "## Validation loss against each hyperparameter",
        "",
        "![params](params.png)",
        "",
    ]


def importance_lines(scores: dict) -> list[str]:
    if not scores:
        return []
    return [
        "## Which hyperparameters mattered",
        "",
        "![importance](importance.png)",
        "",
        ", ".join(f"{n} {v:.2f}" for n, v in scores.items()),
        "",
    ]


def final_test_lines(exp: Settings, test_scores: dict | None) -> list[str]:
    if not test_scores:
        return ["No final test yet: run `python -m tune.promote " + exp.name + "`.", ""]
    w = test_scores["winner"]["test"]
    lines = [
        "## Final test",
        "",
        test_scores["final_words"],
        "",
        f"Winner: accuracy {percent(w['accuracy'])} (95% "
        f"CI {percent(w['accuracy_ci95'][0])}-{percent(w['accuracy_ci95'][1])}), ROC "
        f"AUC {three_places(w['roc_auc'])}, F1 {three_places(w['f1'])}, confusion matrix "
        f"(rows: true class, columns: predicted; {', '.join(experiment.classes(exp))}) "
        f"{w['confusion_matrix']}.",
    ]
    if "baseline" in test_scores:
        b = test_scores["baseline"]["test"]
        lines += [
            "",
            f"Baseline: accuracy {percent(b['accuracy'])} (95% "
            f"CI {percent(b['accuracy_ci95'][0])}-{percent(b['accuracy_ci95'][1])}), ROC "
            f"AUC {three_places(b['roc_auc'])}, F1 {three_places(b['f1'])}.",
        ]
    if "alternatives" in test_scores:
        lines += [
            "",
            "Validation chose what is promoted among these (each also on the test images):",
            "",
            alternatives_table(test_scores),
        ]
    return lines + [""]


def question(exp: Settings) -> str:
    """What the model tells apart, in the data set's own words."""
    classes = experiment.classes(exp)
    if classes == ["not smoking", "smoking"]:
        return "photos of people smoking from photos of people not smoking"
    names = [f"'{name}'" for name in classes]
    return f"the classes {', '.join(names[:-1])} and {names[-1]} apart"


def write_report(
    exp_dir: Path, opened: experiment.Experiment | None = None, redraw: bool = True
) -> None:
    """report.md and its figures; `opened`: the experiment, if the caller has read it already.
    redraw False (a promotion, which changes no trial): a figure already there is kept."""
    opened = opened or experiment.Experiment(exp_dir, experiment.settings(exp_dir))
    exp, table = opened.settings, opened.table()
    if table.empty or "best_val_loss" not in table:
        print(f"No trial of {exp.name} has reported yet: no report.")
        return
    # the distributions the search drew from, as its study recorded them: the space file may have
    # changed since
    space = str(exp_dir / exp.space_file) if exp.space_file else exp.space
    searched = study.distributions(opened.study()) or space_params(space)
    scores = shares(exp_dir, table, searched, redraw)
    figures = {
        "curves.png": lambda: curves_of(opened, table),
        "params.png": lambda: params_figure(table, searched),
        "importance.png": (lambda: importance_figure(scores)) if scores else None,
    }
    for name, draw in figures.items():
        if draw is None or (not redraw and (exp_dir / name).is_file()):
            continue
        fig = draw()
        try:
            save_atomic(
                exp_dir / name, lambda tmp, fig=fig: fig.savefig(tmp, dpi=100, format="png")
            )
        finally:
            plt.close(fig)
    test_file = exp_dir / "test_scores.json"
    test_scores = json.loads(test_file.read_text()) if test_file.is_file() else None
    write_atomic(exp_dir / "report.md", report_markdown(exp, table, scores, test_scores))
    shown = ", ".join(name for name, draw in figures.items() if draw)
    print(f"Report: {exp_dir}/report.md ({shown})")


def curves_of(opened: experiment.Experiment, table: pd.DataFrame):
    """The learning curves of every trial that reported, the best and the baseline marked."""
    histories = {
        t: h
        for t, h in opened.analysis().trial_dataframes.items()
        if h is not None and not h.empty and "epoch" in h
    }
    baseline = table.loc[table["baseline"], "trial_id"]
    return curves_figure(
        histories, table["trial_id"].iloc[0], baseline.iloc[0] if len(baseline) else None
    )


def space_params(space: str) -> dict:
    """A search space's distributions, for an experiment whose study recorded none: imported
    here, not at the top, because the spaces import the models and torch (3 s of a report)."""
    import search_spaces

    return search_spaces.load(space).params


def main(argv=None) -> int:
    p = ArgumentParser(
        prog="python -m tune.report", description="Figures and a report of one experiment."
    )
    p.add_argument("experiment")
    p.add_argument("--results-dir", default="results")
    args = p.parse_args(argv)
    write_report(experiment.find(args.results_dir, args.experiment))
    return 0


if __name__ == "__main__":
    run_main(main)
