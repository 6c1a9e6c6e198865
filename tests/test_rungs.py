"""The rung system (tune/engine/rungs.py) on its own, no Ray: for any learning curves, any number
of workers and any order in which trials report, no trial passes a rung before the rung can judge
it, the baseline is never paused or stopped, every rung lets at least one trial on, no trial is
left waiting, and a system restored from its saved state decides exactly as one that never
stopped."""

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tune.engine import rungs
from tune.engine.rungs import CONTINUE, PAUSE, STOP, Rungs


class Search:
    """Drives the rungs as the Ray adapter does (close, then promote, then start a new trial),
    `workers` trials at a time, the next to report chosen at random; trial 0 is the baseline if
    config says so. Checks every decision as it is made."""

    def __init__(self, config: dict, curves: list[list[float]], seed: int):
        self.config, self.rng = config, random.Random(seed)
        self.system = Rungs.create(config["grace"], config["factor"], config["max_t"])
        self.system.total = len(curves) if config.get("total_known") else None
        self.curve = {f"t{i}": c for i, c in enumerate(curves)}
        self.pending = list(self.curve)
        self.baseline = "t0" if config["baseline"] else None
        self.running: set[str] = set()
        self.resumable: list[str] = []  # went on from a closed rung: paused until a worker is free
        self.allowed: dict[str, set[int]] = {t: set() for t in self.curve}  # rungs it may pass
        self.log: list = []

    def may_pass(self, trial_id: str, milestone: int) -> None:
        """Judged at its rung: in the best 1/factor of at least `factor` results."""
        values, factor = self.system.results[milestone], self.config["factor"]
        rank = sorted(values, key=values.get).index(trial_id)
        assert len(values) >= factor and rank < len(values) // factor
        self.allowed[trial_id].add(milestone)

    def close(self) -> bool:
        """Close a rung that can be closed; whether one was."""
        live = set(self.curve) - self.system.ended
        closing = None if self.pending else self.system.closable(live)
        if closing is None:
            return False
        # nobody can still report at it: every live trial but the baseline waits there or passed it
        for trial_id in live - {self.baseline}:
            assert self.system.progress.get(trial_id, 0) >= closing
        went_on, stopped = self.system.close(closing)
        for trial_id in went_on:
            self.allowed[trial_id].add(closing)
        self.resumable += went_on
        self.log.append(("close", closing, tuple(went_on), tuple(stopped)))
        return True

    def fill(self) -> None:
        for trial_id in self.system.hopeless_waiting():  # as the adapter, before it promotes
            self.system.end(trial_id)
            self.log.append(("hopeless", trial_id))
        while len(self.running) < self.config["workers"]:
            promoted = self.system.promote()
            if promoted is not None:
                self.may_pass(promoted, self.system.progress[promoted])
                self.running.add(promoted)
                self.log.append(("promote", promoted))
            elif self.pending:
                started = self.pending.pop(0)
                self.system.add(started, baseline=started == self.baseline)
                self.running.add(started)
            elif self.resumable:
                self.running.add(self.resumable.pop(0))
            else:
                return

    def step(self) -> None:
        """The next result, of a running trial chosen at random."""
        trial_id = self.rng.choice(sorted(self.running))
        passes = self.system.progress.get(trial_id, 0) + 1
        for milestone in self.system.milestones:
            if milestone < passes and trial_id != self.baseline:
                assert milestone in self.allowed[trial_id], (
                    f"{trial_id} passed {milestone} unjudged"
                )
        action = self.system.report(trial_id, passes, self.curve[trial_id][passes - 1])
        self.log.append(("report", trial_id, passes, action))
        if trial_id == self.baseline:
            assert action == CONTINUE  # never paused or stopped
        elif action == CONTINUE and passes in self.system.milestones:
            self.may_pass(trial_id, passes)
        if action == PAUSE:
            self.running.discard(trial_id)
        if action == STOP or passes >= self.config["max_t"]:  # its budget, or the baseline's own
            self.system.end(trial_id)
            self.running.discard(trial_id)

    def run(self, restore_every_step: bool = False) -> "Search":
        for _ in range(10_000):
            if restore_every_step:  # a new driver before every decision
                again = Rungs.create(
                    self.config["grace"], self.config["factor"], self.config["max_t"]
                )
                again.total = self.system.total  # the search's, not the saved state's
                again.restore(json.loads(json.dumps(self.system.state())))
                self.system = again
            if self.close():
                continue
            self.fill()
            if not self.running:
                return self
            self.step()
        raise AssertionError("the search never ended")


configs = st.fixed_dictionaries(
    {
        "grace": st.integers(1, 3),
        "factor": st.integers(2, 4),
        "max_t": st.integers(1, 12),
        "workers": st.integers(1, 5),
        "baseline": st.booleans(),
    }
)


@st.composite
def searches(draw):
    config = draw(configs)
    # whole numbers, so that ties happen
    value = st.integers(0, 9).map(float)
    curves = draw(st.lists(st.lists(value, min_size=12, max_size=12), min_size=1, max_size=10))
    return config, curves, draw(st.integers(0, 2**32))


@settings(max_examples=300, deadline=None)
@given(searches())
def test_no_trial_passes_a_rung_unjudged_and_none_is_left_waiting(drawn):
    config, curves, seed = drawn
    system = Search(config, curves, seed).run().system
    assert system.waiting == {}  # every trial ended or finished
    assert system.ended | ({"t0"} if config["baseline"] else set()) >= set(system.seen)
    for milestone, results in system.results.items():
        if results:  # at least one trial went on from every rung that had results
            assert any(system.progress[t] > milestone for t in results)


@settings(max_examples=150, deadline=None)
@given(searches())
def test_a_system_restored_from_its_saved_state_decides_the_same(drawn):
    config, curves, seed = drawn
    uninterrupted = Search(config, curves, seed).run().log
    assert Search(config, curves, seed).run(restore_every_step=True).log == uninterrupted


@settings(max_examples=200, deadline=None)
@given(searches())
def test_stopping_the_hopeless_at_once_lets_on_the_same_trials(drawn):
    """Knowing how many trials will come, a trial that can no longer go on stops instead of
    waiting: no trial's fate changes, only how long the losers wait."""
    config, curves, seed = drawn
    waits = Search(config, curves, seed).run()
    stops = Search({**config, "total_known": True}, curves, seed).run()
    assert stops.system.progress == waits.system.progress
    assert [e for e in stops.log if e[0] == "promote"] == [
        e for e in waits.log if e[0] == "promote"
    ]
    waited = sum(1 for e in waits.log if e[0] == "report" and e[3] == PAUSE)
    assert sum(1 for e in stops.log if e[0] == "report" and e[3] == PAUSE) <= waited


def test_the_baseline_is_the_trial_added_as_such_not_one_with_its_values():
    system = Rungs.create(1, 3, 9)
    system.add("baseline", baseline=True)
    system.add("twin")  # the same config, drawn later
    assert system.report("baseline", 1, 0.9) == CONTINUE
    assert system.report("twin", 1, 0.9) == PAUSE
    assert system.report("twin", 9, 0.9) == STOP


@pytest.mark.parametrize(
    "grace, factor, max_t, named",
    [(0, 3, 9, "grace_period = 0"), (1, 1, 9, "reduction_factor = 1"), (1, 3, 0, "max_t = 0")],
)
def test_rungs_that_cannot_work_are_refused(grace, factor, max_t, named):
    with pytest.raises(ValueError, match=named):
        rungs.milestones(grace, factor, max_t)
