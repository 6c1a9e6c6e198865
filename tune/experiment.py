"""Read an experiment folder (results/<name>/): its settings (tune/settings.py) and its trials,
through Ray Tune's own ExperimentAnalysis, so it works after a search and while one is still
running; `Experiment` is a folder opened once, so that a command reads each of them once.
Nothing here imports torch (tune.trials answers in seconds); what trials train on is
tune/trial_inputs.py's."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tune import METRIC, MODE, ended_status, is_baseline, lock, passes_of
from tune.errors import UsageError
from tune.settings import Settings, read


def find(results_dir: str | Path, name: str) -> Path:
    exp_dir = Path(results_dir) / name
    if not (exp_dir / "experiment.json").is_file():
        known = sorted(p.parent.name for p in Path(results_dir).glob("*/experiment.json"))
        raise UsageError(
            f"no experiment {name!r} in {results_dir}/ (experiments "
            f"there: {', '.join(known) or 'none'})"
        )
    return exp_dir


def settings(exp_dir: Path) -> Settings:
    """experiment.json as this version reads it, from any older one (tune/settings.py)."""
    return read(exp_dir)


def classes(exp: Settings) -> list[str]:
    """The experiment's class names, label = index."""
    return list(exp.classes)


def ray_path(exp_dir: Path) -> str:
    """Where Ray keeps the experiment's state and checkpoints: `ray/` inside the experiment
    folder, or EXP under --storage (a shared folder or a URI such as s3://bucket/path)."""
    exp = settings(exp_dir)
    if exp.storage:
        return f"{exp.storage.rstrip('/')}/{exp.name}"
    return str((exp_dir / "ray").resolve())


def has_ray_state(exp_dir: Path) -> bool:
    from ray.tune import Tuner

    try:
        return Tuner.can_restore(ray_path(exp_dir))
    except Exception:  # an unreachable storage URI reads as "no state", and says so where used
        return False


def damaged_ray_state(exp_dir: Path) -> Path | None:
    """Ray's newest experiment_state-*.json (the one Ray reads), when it is not whole JSON: a
    search before tune/engine/write_guard.py left it half-written on a full disk. Local storage
    only."""
    if "://" in ray_path(exp_dir):
        return None
    states = sorted(Path(ray_path(exp_dir)).glob("experiment_state-*.json"))  # Ray takes the last
    try:
        if states:
            json.loads(states[-1].read_text())
    except ValueError:
        return states[-1]
    return None


def set_aside_damaged_state(exp_dir: Path) -> Path | None:
    """For --resume: a damaged newest state, renamed out of Ray's sight (`.damaged`), so that
    Ray resumes from the state before it instead of "restarting" the experiment empty (and
    hiding its finished trials). Refused in one line when there is no state before it."""
    damaged = damaged_ray_state(exp_dir)
    if damaged is None:
        return None
    if len(list(damaged.parent.glob("experiment_state-*.json"))) < 2:
        raise UsageError(
            f"Ray's experiment state {damaged} is damaged (half-written) and there is "
            f"no earlier one to resume from: delete {exp_dir} and start it again"
        )
    aside = damaged.with_name(damaged.name + ".damaged")
    damaged.rename(aside)
    return aside


def analysis(exp_dir: Path):
    """Ray's ExperimentAnalysis of the experiment; None until Ray has saved its first state."""
    # not at import: tune.run must set Ray up before Ray is imported
    from ray.tune import ExperimentAnalysis

    if not has_ray_state(exp_dir):
        return None
    damaged = damaged_ray_state(exp_dir)
    if damaged:  # one line instead of Ray's JSONDecodeError traceback
        name = settings(exp_dir).name
        raise UsageError(
            f"Ray's experiment state {damaged} is damaged (half-written, on a full "
            f"disk?): python -m tune.run --resume --name {name} sets it aside"
        )
    return ExperimentAnalysis(ray_path(exp_dir), default_metric=METRIC, default_mode=MODE)


def best_row(history: pd.DataFrame) -> pd.Series:
    """The epoch of a trial's history that is best by the search metric."""
    return history.loc[history[METRIC].idxmin() if MODE == "min" else history[METRIC].idxmax()]


def trial_number(trial) -> int:
    """0 for the first trial started (the baseline), 1 for the next, ... (Ray's experiment tag)."""
    return int(trial.experiment_tag.split("_")[0]) - 1


def readable_epochs(epoch) -> int | float:
    """An epoch count as people read it: 3, or 3.333 for a trial stopped between passes of an
    epoch."""
    return int(epoch) if float(epoch).is_integer() else round(float(epoch), 3)


def local_errors(trial) -> str | None:
    """The driver's own copy of a trial's error file (the one in --storage may lag behind)."""
    try:
        return Path(trial.local_path, trial.run_metadata.error_filename).read_text()
    except (OSError, TypeError):  # none yet
        return None


def failure_words(errors: str | None) -> str:
    """The latest failure in a trial's error file, in a few words: a trial whose process went
    away under it (its node died, or its worker was killed: Ray says the actor died or is
    unavailable, the socket closed) named as such, otherwise the error's last line."""
    latest = str(errors or "").strip().rsplit("Failure # ", 1)[-1]
    lost = r"node has died|NodeDiedError|node is dead|actor died|actor \S+ is unavailable"
    if re.search(lost, latest, re.IGNORECASE):
        return "its node or worker was lost"
    return latest.splitlines()[-1][:200] if latest else "an unknown error"


def trials_table(
    exp_dir: Path, searching: bool | None = None, found=None, exp: Settings | None = None
) -> pd.DataFrame:
    """One row per trial: number (0 = first started, the baseline), id, status, params, epochs
    run, best and last validation metrics, wall time, error; best first by the search metric.
    `searching`: whether Ray's loop still runs (default: whether a driver holds the experiment);
    when it does not, an unfinished trial that has trained is PAUSED until --resume. `found`,
    `exp`: Ray's analysis of it and its settings, if the caller has read them already."""
    exp = exp or settings(exp_dir)
    if searching is None:
        searching = lock.live_holder(exp_dir) is not None
    found = found or analysis(exp_dir)
    rows = [
        trial_row(trial, found.trial_dataframes.get(trial.trial_id), exp, searching)
        for trial in (found.trials if found else [])
    ]
    table = pd.DataFrame(rows)
    if "best_val_loss" in table:
        table = table.sort_values(
            ["best_val_loss", "trial"], ascending=[MODE == "min", True], na_position="last"
        )
    return table.reset_index(drop=True)


def trial_row(trial, history, exp: Settings, searching: bool) -> dict:
    """One trial's row of the table, from Ray's record of it and its results."""
    row = {
        "trial": trial_number(trial),
        "trial_id": trial.trial_id,
        "baseline": is_baseline(trial.config, exp.baseline),
    }
    row.update({f"param_{k}": v for k, v in trial.config.items()})
    reported = history is not None and not history.empty and METRIC in history
    last = history.iloc[-1] if reported else {}
    passes = passes_of(last) if reported else 0
    status = trial.status
    if status == "TERMINATED":
        status = ended_status(last, exp.budget, exp.budget_unit)
    elif status in ("PENDING", "RUNNING") and passes:
        # the saved state lags a running trial's own results; Ray saves one whose worker was
        # still starting when the loop ended (a --time-budget, a kill) as PENDING
        status = "RUNNING" if searching else "PAUSED"
    row.update(
        {
            "status": status,
            "epochs": readable_epochs(last["epoch"]) if reported else 0,
            "passes": passes,
            "train_images": int(last.get("train_images", passes * exp.split_sizes["train"]))
            if reported
            else 0,
        }
    )
    if passes:
        best = best_row(history)
        row.update(
            {
                "best_epoch": readable_epochs(best["epoch"]),
                "best_val_loss": best["val_loss"],
                "best_val_acc": best["val_acc"],
                "best_val_auc": best["val_auc"],
                "last_val_loss": last["val_loss"],
                "last_val_acc": last["val_acc"],
                "last_train_acc": last["train_acc"],
                "wall_time_s": last["time_total_s"],
            }
        )
    error = trial.get_error() if trial.status == "ERROR" else None
    row["error"] = str(error).strip().splitlines()[-1] if error else ""
    # failures Ray retried from the last checkpoint (FailureConfig: once), and the last cause
    row["restarts"] = int(trial.num_failures)
    restarted = trial.num_failures and not error
    row["restarted_after"] = failure_words(trial.get_error()) if restarted else ""
    return row


KEEP_CHECKPOINTS = 5  # tune.run's default --keep-checkpoints


def keeping_checkpoints(table: pd.DataFrame, keep: int | None) -> set[str]:
    """The trials whose best checkpoint promotion may load: the `keep` best by the search metric
    (tune.promote's --ensemble K and --top-k K take the top K rows of this table) and the
    baseline (its test scores are reported beside the winner's). `keep` None: every trial
    (experiments from before the rule). A trial outside stays out: later ones only push it down."""
    trained = table[table["epochs"] > 0] if len(table) else table
    if keep is None or trained.empty:
        return set(trained.get("trial_id", []))
    return set(trained["trial_id"].head(keep)) | set(trained["trial_id"][trained["baseline"]])


def kept_too_few(exp: Settings, wanted: int, flag: str) -> str | None:
    """Why promotion cannot take the top `wanted` trials: the search kept fewer checkpoints."""
    keep = exp.keep_checkpoints
    if keep is None or wanted <= keep:
        return None
    return (
        f"{flag} {wanted}: experiment {exp.name} kept the checkpoints of its {keep} best trials "
        f"only (tune.run --keep-checkpoints {keep}): use {flag} {keep} or fewer"
    )


def checkpoint_label(exp_dir: Path, checkpoint) -> str | None:
    """Where a checkpoint is, for people: relative to the experiment folder when inside it."""
    if checkpoint is None:
        return None
    path, local = Path(checkpoint.path), checkpoint.filesystem.type_name == "local"
    if local and path.is_relative_to(exp_dir.resolve()):
        return str(path.relative_to(exp_dir.resolve()))
    return str(path) if local else f"{checkpoint.filesystem.type_name}://{checkpoint.path}"


@dataclass
class Experiment:
    """An experiment folder opened once: its settings, and Ray's analysis, the trial table and the
    study read on first use and kept (the analysis took 16 s at 1,000 trials, and promotion
    asked for it once per member, per candidate and for the baseline)."""

    folder: Path
    settings: Settings
    found: object = field(default=None, repr=False)  # Ray's analysis, once read
    studied: object = field(default=None, repr=False)  # the Optuna study, once read
    trials: pd.DataFrame | None = field(default=None, repr=False)  # the trial table, once read
    searching: bool | None = None  # for the table (trials_table); False once a run has ended

    @classmethod
    def open(cls, results_dir: str | Path, name: str) -> "Experiment":
        folder = find(results_dir, name)
        return cls(folder, settings(folder))

    @property
    def name(self) -> str:
        return self.settings.name

    def analysis(self):
        if self.found is None:
            self.found = analysis(self.folder)
        return self.found

    def study(self):
        """The experiment's Optuna study (tune/study.py load's; read once: at 1,000 trials its
        journal took 0.7 s to read, and promotion read it for the report and for its note)."""
        if self.studied is None:
            from tune import study  # Optuna: only for the commands that read the study

            self.studied = study.load(self.folder)
        return self.studied

    def table(self) -> pd.DataFrame:
        """The trial table as it is now (read once: the search does not run while it is kept)."""
        if self.trials is None:
            self.trials = trials_table(
                self.folder, self.searching, found=self.analysis(), exp=self.settings
            )
        return self.trials

    def best_checkpoint(self, trial_id: str):
        """A trial's config and the ray.tune.Checkpoint Ray kept for it: its best epoch by the
        search metric."""
        found = self.analysis()
        trial = next(t for t in found.trials if t.trial_id == trial_id)
        return trial.config, found.get_best_checkpoint(trial, METRIC, MODE)

    def best_trial(self) -> dict | None:
        """The best epoch of any trial by the search metric, with the checkpoint saved at it."""
        table = self.table()
        if table.empty or "best_val_loss" not in table or table["best_val_loss"].isna().all():
            return None
        row = table.iloc[0]
        config, checkpoint = self.best_checkpoint(row["trial_id"])
        return {
            "trial": int(row["trial"]),
            "trial_id": row["trial_id"],
            "config": config,
            "epoch": readable_epochs(row["best_epoch"]),
            "val_loss": float(row["best_val_loss"]),
            "val_acc": float(row["best_val_acc"]),
            "val_auc": float(row["best_val_auc"]),
            "checkpoint": checkpoint_label(self.folder, checkpoint),
        }
