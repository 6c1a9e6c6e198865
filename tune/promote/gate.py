"""Whether a search may be promoted now: over (every trial ended, or its time budget ended it),
and with the checkpoints the flags ask for kept. The test split is meant to be read once, at
the end: a refusal is one line, before it is read."""

from pathlib import Path

from tune import experiment, lock
from tune.errors import UsageError, results_dir_flag
from tune.settings import Settings


def unfinished_because(exp_dir: Path, exp: Settings) -> str | None:
    """Why the search is not over yet; None when it is: every trial ended, or its time budget
    ended it (experiment.json: `finished`, else `ended_by` "the time budget ...")."""
    holder = lock.live_holder(exp_dir)
    if holder:
        return f"it is running ({lock.describe(holder, exp_dir)})"
    if exp.finished:
        return None
    stale = lock.read(exp_dir)  # its driver died (kill -9, a crash) before writing its results
    if stale:
        return f"its driver (pid {stale.get('pid')} on {stale.get('host')}) died before it ended"
    if str(exp.ended_by or "").startswith("the time budget"):
        return None
    return f"it was ended by {exp.ended_by or 'an interruption'} before every trial ended"


def refusal(exp: Settings, reason: str, results_dir: str) -> UsageError:
    """The one line that refuses an unfinished search, and says how to finish it."""
    name = exp.name
    anyway = (
        "or promote it as it is with --allow-unfinished (the test split is meant to be read "
        "once, when the search has ended)"
    )
    if reason.startswith("it is running"):
        return UsageError(
            f"experiment {name} is not finished: {reason}; promote it when it has ended, {anyway}"
        )
    where = results_dir_flag(results_dir)
    return UsageError(
        f"experiment {name} is not finished: {reason}; continue it with "
        f"python -m tune.run --resume --name {name}{where}, {anyway}"
    )


def refuse_what_was_not_kept(exp: Settings, args) -> None:
    """--ensemble K or --top-k K past the checkpoints the search kept: one line, before any work."""
    for wanted, flag in ((args.ensemble or 1, "--ensemble"), (args.top_k, "--top-k")):
        if too_few := experiment.kept_too_few(exp, wanted, flag):
            raise UsageError(too_few)
