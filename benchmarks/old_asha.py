"""A search under Ray's async ASHA judging per epoch, the scheduler before successive halving,
for benchmarks/scheduler_compare.py. Takes tune.run's flags:

    TUNE_DATA_ROOT=../shared/datasets python -m benchmarks.old_asha --space cnn_dataset1

The experiment records scheduler "asha" and a budget of epochs; tune.trials, tune.report and
tune.promote read it as any other, but it cannot be resumed (its rungs are not saved).
"""

import sys

from ray.tune.schedulers import ASHAScheduler

import search_spaces
from tune import is_baseline, run
from tune.engine import rungs
from tune.engine.context import Bound


class SearchSpaceASHA(Bound, ASHAScheduler):
    """Ray's ASHA per epoch, the baseline never stopped, --time-budget kept."""

    def __init__(self, baseline: dict, **asha_args):
        super().__init__(**asha_args)
        self._baseline = baseline

    def on_trial_result(self, tune_controller, trial, result):
        action = super().on_trial_result(tune_controller, trial, result)
        stopped_early = action == self.STOP and result.get(self._time_attr, 0) < self._max_t
        if stopped_early and is_baseline(trial.config, self._baseline):
            action = self.CONTINUE
        if action == self.CONTINUE and self.run and self.run.spent():
            return self.PAUSE
        return action

    def choose_trial_to_run(self, tune_controller):
        return (
            None if self.run and self.run.spent() else super().choose_trial_to_run(tune_controller)
        )


def old_asha(space, budget: int) -> SearchSpaceASHA:
    return SearchSpaceASHA(
        space.baseline,
        time_attr="epoch",
        max_t=budget,
        grace_period=search_spaces.grace_period(space, budget),
        reduction_factor=rungs.REDUCTION_FACTOR,
    )


if __name__ == "__main__":
    sys.exit(run.main(epoch_scheduler=old_asha))
