"""`--time-budget MINUTES`: a search that ends on time and can be continued.

Ray's own `time_budget_s` stops running trials mid-epoch and marks them finished, so they can
never be resumed. Here, once the budget is spent (`RunContext.spent`), no trial starts
(tune/engine/scheduler.py), and each running trial stops at its next result, paused with the
checkpoint it has just reported. When none is running any more, the driver ends Tune's loop as
Ctrl-C does (SIGUSR1, which Tune handles like SIGINT: the experiment state is saved one last time),
so `--resume` continues the paused and pending trials, with a new budget or none.

The budget belongs to the run (tune/engine/context.py), not to this callback: Ray pickles the
callback into the experiment and brings the old one back on resume.
"""

import os
import signal

from ray.tune import Callback

from tune.engine.context import Bound


class EndWhenSpent(Bound, Callback):
    """Ends Tune's loop once the budget is spent and every running trial has paused."""

    def on_step_end(self, iteration, trials, **info):
        run = self.run
        if (
            run
            and run.spent()
            and not run.ended_search
            and not any(t.status == "RUNNING" for t in trials)
        ):
            run.ended_search = True
            os.kill(os.getpid(), signal.SIGUSR1)
