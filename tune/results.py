"""Everything a person opens in results/, written atomically (temp file + rename), so an
interrupted write never leaves a half file where a good one was."""

import json
import math
import os
from pathlib import Path

import pandas as pd

from tune import METRIC, MODE
from tune.settings import Settings


def save_atomic(path: Path, save) -> None:
    """save(tmp) writes the file aside; it replaces `path` only once whole. A write that fails
    (a full disk) leaves the old file, or none, and no half one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open() honours the umask; mkstemp not
    try:
        save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str | bytes) -> None:
    save_atomic(
        path, lambda tmp: tmp.write_bytes(text) if isinstance(text, bytes) else tmp.write_text(text)
    )


def write_json(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def percent(x) -> str:
    return "n/a" if _missing(x) else f"{100 * x:.1f}%"


def three_places(x) -> str:
    return "n/a" if _missing(x) else f"{x:.3f}"


def precision_line(exp: Settings) -> str:
    chosen = exp.precision
    if not chosen:
        return "- Precision: fp32, NCHW (recorded before the choice existed)"
    return (
        f"- Precision: {chosen['dtype']}, {'channels_last' if chosen['channels_last'] else 'NCHW'} "
        f"(--precision {chosen['requested']}; CPU {chosen['cpu']}, {chosen['isa']}, native bf16: "
        f"{'yes' if chosen['avx512_bf16'] or chosen['amx_bf16'] else 'no'})"
    )


def models_words(exp: Settings) -> str:
    """ "model `seed_cnn` 256x256", or every model a search chose among, each at its input size."""
    inputs = exp.trial_settings.inputs
    return f"model{'s' * (len(inputs) > 1)} " + ", ".join(
        f"`{m}` {i.image_size}x{i.image_size}" for m, i in inputs.items()
    )


def budget_words(exp: Settings) -> str:
    if exp.scheduler == "halving":
        return (
            f"up to {exp.budget} passes over the training split each "
            f"(the baseline: its full {exp.budget} epochs)"
        )
    return f"up to {exp.budget} epochs each"


def scheduler_words(exp: Settings) -> str:
    if exp.scheduler == "halving":
        return "successive halving on equal training images (factor 3)"
    return "Ray's async ASHA per epoch"


def summary_markdown(
    exp: Settings, table: pd.DataFrame, best: dict | None, test_scores: dict | None = None
) -> str:
    """summary.md: the experiment in words, section by section."""
    sections = [
        settings_section(exp, table),
        best_section(best),
        baseline_section(table),
        restarts_section(table),
        test_section(test_scores),
        trials_section(table),
    ]
    return "\n".join(line for section in sections for line in section)


def settings_section(exp: Settings, table: pd.DataFrame) -> list[str]:
    return [
        f"# Experiment {exp.name}",
        "",
        f"- Space: `{exp.space}` ({models_words(exp)}, data set `{exp.dataset}` "
        f"in {exp.dataset_dir})",
        "- Split sizes: "
        + ", ".join(f"{k} {v}" for k, v in exp.split_sizes.items())
        + " (test untouched by the search); classes: "
        + ", ".join(exp.classes),
        f"- Trials: {len(table)} of {exp.num_samples} asked, {budget_words(exp)}, "
        f"seed {exp.seed}; searched by Optuna TPE, stopped early by {scheduler_words(exp)} "
        f"on {METRIC} ({MODE})",
        f"- Wall time: {exp.wall_time_s:.0f} s"
        + (f"; ended by {exp.ended_by}" if exp.ended_by else ""),
        precision_line(exp),
        "",
    ]


def best_section(best: dict | None) -> list[str]:
    if not best:
        return []
    return [
        "## Best trial",
        "",
        f"Trial {best['trial']} (`{best['trial_id']}`), epoch {best['epoch']}: val "
        f"loss {best['val_loss']:.4f}, val accuracy {percent(best['val_acc'])}, val ROC "
        f"AUC {best['val_auc']:.3f}.",
        "",
        "```json",
        json.dumps(best["config"], indent=2),
        "```",
        "",
    ]


def baseline_section(table: pd.DataFrame) -> list[str]:
    base = table[table["baseline"]] if "baseline" in table else table.iloc[0:0]
    if not (len(base) and "best_val_acc" in base):
        return []
    b = base.iloc[0]
    return [
        "## The seed report's hand-tuned baseline",
        "",
        f"Trial `{b['trial_id']}`: best val loss {b['best_val_loss']:.4f}, val "
        f"accuracy {percent(b['best_val_acc'])} ({b['status'].lower()} after {b['epochs']} "
        "epochs).",
        "",
    ]


def restarts_section(table: pd.DataFrame) -> list[str]:
    """Trials restarted after a failure, and the training images of all trials together."""
    lines = []
    restarted = table[table["restarts"] > 0] if "restarts" in table else table.iloc[0:0]
    if len(restarted):
        lines += [
            "Restarted from their last checkpoint after a failure (Ray retries a trial once): "
            + "; ".join(
                f"trial {r['trial']} (`{r['trial_id']}`, {r['restarted_after'] or r['error']})"
                for _, r in restarted.iterrows()
            )
            + ".",
            "",
        ]
    if "train_images" in table and len(table):
        lines += [
            f"Training images seen by all trials together: {int(table['train_images'].sum()):,} "
            f"(per trial: `train_images` in the table below).",
            "",
        ]
    return lines


def test_section(test_scores: dict | None) -> list[str]:
    if not test_scores:
        return []
    lines = [
        "## Final test (`python -m tune.promote`)",
        "",
        test_scores["final_words"],
        "",
        f"Chosen by: {test_scores['selection']['method']}. Figures for both models, with "
        "precision, recall, F1, ROC AUC and confusion matrices: `test_scores.json`.",
        "",
    ]
    if "alternatives" in test_scores:
        lines += [
            "What validation chose among (each also on the test images, for the record):",
            "",
            alternatives_table(test_scores),
            "",
        ]
    return lines


TABLE_COLUMNS = [
    "trial",
    "trial_id",
    "baseline",
    "status",
    "epochs",
    "passes",
    "train_images",
    "best_val_loss",
    "best_val_acc",
    "best_val_auc",
    "wall_time_s",
]


def trials_section(table: pd.DataFrame) -> list[str]:
    columns = [c for c in TABLE_COLUMNS if c in table]
    return [
        "## Trials (best first)",
        "",
        table[columns].to_markdown(index=False, floatfmt=".4f"),
        "",
        "Every trial's parameters: `trials.csv`. Ray's own experiment folder, for "
        "`Tuner.restore` and TensorBoard: `ray/`.",
        "",
    ]


def alternatives_table(scores: dict) -> str:
    """`promote --ensemble/--tta`: single best vs ensembles vs the baseline, on validation (which
    chose what is promoted) and on test."""

    def test_cell(test):
        low, high = test["accuracy_ci95"]
        return f"{percent(test['accuracy'])} ({percent(low)}-{percent(high)})"

    promoted = scores["winner"].get("ensemble", {}).get("name", "single best")
    lines = [
        "| model | val loss | val acc | test acc (95% CI) | McNemar p vs baseline |",
        "| --- | --- | --- | --- | --- |",
    ]
    for option in scores["alternatives"]:
        p = option.get("mcnemar_vs_baseline", {}).get("p_value")
        lines.append(
            f"| {option['name']}{' (promoted)' if option['name'] == promoted else ''} | "
            f"{option['val_loss']:.4f} | {percent(option['val_acc'])} "
            f"| {test_cell(option['test'])} | {'n/a' if p is None else f'{p:.3g}'} |"
        )
    if "baseline" in scores:
        b = scores["baseline"]
        lines.append(
            f"| the report's baseline (trial {b['trial']}) | {b['val_loss']:.4f} "
            f"| {percent(b['val_acc'])} | {test_cell(b['test'])} | |"
        )
    return "\n".join(lines)
