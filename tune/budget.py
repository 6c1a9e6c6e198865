"""`--time-budget MINUTES`: a search that ends on time and can be continued.

Ray's own `time_budget_s` stops running trials mid-epoch and marks them finished, so they can
never be resumed. Here, once the budget is spent, no trial starts (tune/scheduler.py asks
`spent()`), and each running trial stops at its next epoch boundary, paused with the checkpoint
it has just reported. When none is running any more, the driver ends Tune's loop as Ctrl-C
does (SIGUSR1, which Tune handles like SIGINT: the experiment state is saved one last time),
so `--resume` continues the paused and pending trials, with a new budget or none.

The budget lives in this module, not in the scheduler or the callback: Ray pickles both into
the experiment and brings the old ones back on resume, while the budget belongs to this run.
"""
import os
import signal
import time

from ray.tune import Callback

_deadline: float | None = None
_ended_search = False


def start(minutes: float | None) -> None:
    global _deadline, _ended_search
    _deadline = time.time() + 60 * minutes if minutes else None
    _ended_search = False


def spent() -> bool:
    return _deadline is not None and time.time() >= _deadline


def ended_search() -> bool:
    """Whether this run's budget, and not the end of the search, stopped it."""
    return _ended_search


class EndWhenSpent(Callback):
    """Ends Tune's loop once the budget is spent and every running trial has paused."""

    def on_step_end(self, iteration, trials, **info):
        global _ended_search
        if spent() and not _ended_search and not any(t.status == "RUNNING" for t in trials):
            _ended_search = True
            os.kill(os.getpid(), signal.SIGUSR1)
