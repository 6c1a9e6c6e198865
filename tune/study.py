"""Every search's Optuna study, kept in results/EXP/optuna.journal (Optuna's journal file): written
by the searcher (tune/engine/searcher.py) as the search runs, read by optuna-dashboard
(tune/dashboard.py), told the final test by tune/promote/. No Ray here, so the dashboard starts
fast.

Why a journal, not SQLite (optuna.db, which experiments from before 2026-12-04 keep and are still
read from): Optuna reads every unfinished trial back from SQLite at each suggestion, and a trial
waiting at a rung is unfinished. At 1,000 trials a suggestion took ~0.9 s on SQLite, 0.05 s on the
journal, which reads only what was appended since (benchmarks/README.md, "Many trials").
"""

from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

STUDY_FILE = "optuna.journal"
OLD_STUDY_FILE = "optuna.db"  # SQLite, experiments from before the journal


def study_file(exp_dir: Path) -> Path:
    """The experiment's study file: its SQLite one if it has one (an older experiment), else
    its journal (which a new search creates)."""
    old = Path(exp_dir) / OLD_STUDY_FILE
    return old if old.is_file() else Path(exp_dir) / STUDY_FILE


def storage(exp_dir: Path) -> optuna.storages.BaseStorage:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = study_file(exp_dir).resolve()
    if path.name == OLD_STUDY_FILE:
        return optuna.storages.RDBStorage(f"sqlite:///{path}")
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def load(exp_dir: Path) -> optuna.Study | None:
    """The experiment's study, or None for an experiment made before studies were kept."""
    if not study_file(exp_dir).is_file():
        return None
    # its only study, whatever the folder's name
    return optuna.load_study(study_name=None, storage=storage(exp_dir))


def distributions(study: optuna.Study | None) -> dict:
    """{parameter: the Optuna distribution its values were drawn from}, over every trial of the
    study (load's): the space as the search saw it. Empty for an experiment made before studies
    were kept (None)."""
    found = {}
    for trial in study.get_trials(deepcopy=False) if study else []:
        found.update(trial.distributions)
    return found


def label_unfinished(exp_dir: Path, how: str) -> None:
    """After a run that did not end every trial: say why the running ones stand still."""
    study = load(exp_dir)
    if study is None:
        return
    # through the storage's public methods: no Trial object of a search that has gone
    notes = storage(exp_dir)
    study_id = notes.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = notes.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        notes.set_trial_user_attr(trial_id, "ended", how)


def record_test_scores(study: optuna.Study | None, scores: dict) -> None:
    """The final test on the study (load's: user attributes, and its note in the dashboard)."""
    if study is None:
        return
    lines = [
        f"Final test on {scores['test_images']} untouched images of "
        f"{', '.join(scores['winner']['test'].get('classes', ['not smoking', 'smoking']))} "
        "(`python -m tune.promote`):",
        "",
    ]
    for role in ("winner", "baseline"):
        if role in scores:
            test = scores[role]["test"]
            low, high = test["accuracy_ci95"]
            study.set_user_attr(
                f"test_{role}",
                {
                    "trial": scores[role]["trial"],
                    "trial_id": scores[role]["trial_id"],
                    "accuracy": test["accuracy"],
                    "accuracy_ci95": [low, high],
                },
            )
            who = scores[role]["trial"]
            who = "the probe" if who is None else f"trial {who} ({scores[role]['trial_id']})"
            lines.append(
                f"- {role}: {who}, accuracy "
                f"{100 * test['accuracy']:.1f}% (95% CI {100 * low:.1f}-{100 * high:.1f}%)"
            )
    if "mcnemar_winner_vs_baseline" in scores:
        study.set_user_attr("test_mcnemar_p", scores["mcnemar_winner_vs_baseline"]["p_value"])
    lines += ["", scores["final_words"]]
    from optuna_dashboard import save_note

    save_note(study, "\n".join(lines))
