"""One run of the driver (a search, or one `--resume` of it): what its scheduler, searcher and
callbacks need to know about *this* run, handed to each of them explicitly (`bind`).

Ray pickles the scheduler, the searcher and the callbacks into the experiment and brings the old
objects back on `--resume`; what belongs to the run (where the experiment is now, the time
budget, the state files) must not travel with them. So each keeps its run in `self.run`, never
pickles it, and the driver binds the run again after `Tuner.restore` (tune/engine/search.py).
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from tune.engine.rungs import REDUCTION_FACTOR
from tune.settings import Settings


@dataclass
class RunContext:
    exp_dir: Path  # the experiment folder, where it is now
    ray_path: str  # where Ray keeps its state and checkpoints (a folder or a URI)
    num_samples: int
    budget: int  # a trial's, in budget_unit
    at_once: int  # trials run at once
    cpus_per_trial: int
    baseline: dict
    grace_period: int = 1  # passes before the first rung
    reduction_factor: int = REDUCTION_FACTOR
    deadline: float | None = None  # --time-budget: no trial starts after this time
    ended_search: bool = False  # the budget, not the end of the search, ended it
    waiting: set = field(default_factory=set)  # trials paused at a rung (tune/engine/scheduler.py)
    # what the scheduler has to tell a person (a rung closed), said by tune/engine/progress.py
    notices: list = field(default_factory=list)
    log_every: float = 60.0  # off a terminal, seconds between status lines (--log-every)
    budget_unit: str = "passes"  # or "epochs" under Ray's ASHA (tune.budget_unit)

    @classmethod
    def for_experiment(
        cls,
        exp_dir: Path,
        ray_path: str,
        exp: Settings,
        minutes: float | None,
        log_every: float = 60.0,
    ):
        return cls(
            exp_dir=Path(exp_dir),
            ray_path=ray_path,
            num_samples=exp.num_samples,
            budget=exp.budget,
            at_once=max(1, exp.max_concurrent),
            cpus_per_trial=exp.cpus_per_trial,
            baseline=exp.baseline,
            grace_period=exp.grace_period,
            deadline=time.time() + 60 * minutes if minutes else None,
            log_every=log_every,
            budget_unit=exp.budget_unit,
        )

    @property
    def state_file(self) -> Path:
        """The scheduler's rungs (Ray does not save a scheduler's state)."""
        return self.exp_dir / "scheduler_state.json"

    @property
    def cpus(self) -> int:
        """The CPUs the search's trials may hold together."""
        return self.at_once * self.cpus_per_trial

    def spent(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline


class Bound:
    """A mixin for what Ray pickles into the experiment: `run` is bound per run, never pickled."""

    run: RunContext | None = None

    def bind(self, run: RunContext):
        self.run = run
        return self

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("run", None)
        return state
