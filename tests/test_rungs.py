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


def search(config: dict, curves: list[list[float]], seed: int, restore_every_step: bool) -> dict:
    """Drive the rungs as the Ray adapter does (close, then promote, then start a new trial),
    with `workers` trials at a time, the next to report chosen at random; trial 0 is the
    baseline if config says so. Checks every decision as it is made; returns what happened."""
    grace, factor, max_t = config["grace"], config["factor"], config["max_t"]
    system = Rungs.create(grace, factor, max_t)
    pending = [f"t{i}" for i in range(len(curves))]
    baseline = "t0" if config["baseline"] else None
    curve = {f"t{i}": c for i, c in enumerate(curves)}
    running: set[str] = set()
    resumable: list[str] = []  # went on from a closed rung: paused, started when a worker is free
    allowed: dict[str, set[int]] = {t: set() for t in pending}  # rungs a trial may pass
    log, rng = [], random.Random(seed)

    def may_pass(trial_id: str, milestone: int) -> None:
        """Judged at its rung: in the best 1/factor of at least `factor` results."""
        values = system.results[milestone]
        rank = sorted(values, key=values.get).index(trial_id)
        assert len(values) >= factor and rank < len(values) // factor
        allowed[trial_id].add(milestone)

    for _ in range(10_000):
        if restore_every_step:  # a new driver before every decision
            again = Rungs.create(grace, factor, max_t)
            again.restore(json.loads(json.dumps(system.state())))
            system = again
        if not pending:
            live = set(curve) - system.ended
            closing = system.closable(live)
            if closing is not None:
                # nobody can still report at it: every live trial that is not the baseline is
                # waiting there or has passed it
                for trial_id in live - {baseline}:
                    assert system.progress.get(trial_id, 0) >= closing
                went_on, stopped = system.close(closing)
                for trial_id in went_on:
                    allowed[trial_id].add(closing)
                resumable += went_on
                log.append(("close", closing, tuple(went_on), tuple(stopped)))
                continue
        while len(running) < config["workers"]:
            promoted = system.promote()
            if promoted is not None:
                may_pass(promoted, system.progress[promoted])
                running.add(promoted)
                log.append(("promote", promoted))
            elif pending:
                started = pending.pop(0)
                system.add(started, baseline=started == baseline)
                running.add(started)
            elif resumable:
                running.add(resumable.pop(0))
            else:
                break
        if not running:
            break
        trial_id = rng.choice(sorted(running))
        passes = system.progress.get(trial_id, 0) + 1
        for milestone in system.milestones:
            if milestone < passes and trial_id != baseline:
                assert milestone in allowed[trial_id], (
                    f"{trial_id} passed rung {milestone} unjudged"
                )
        action = system.report(trial_id, passes, curve[trial_id][passes - 1])
        log.append(("report", trial_id, passes, action))
        if trial_id == baseline:
            assert action == CONTINUE  # never paused or stopped
        elif action == CONTINUE and passes in system.milestones:
            may_pass(trial_id, passes)
        if action == PAUSE:
            running.discard(trial_id)
        if action == STOP or passes >= max_t:  # its budget (the baseline's own schedule) ends it
            system.end(trial_id)
            running.discard(trial_id)
    else:
        raise AssertionError("the search never ended")
    return {"log": log, "system": system}


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
    system = search(config, curves, seed, restore_every_step=False)["system"]
    assert system.waiting == {}  # every trial ended or finished
    assert system.ended | ({"t0"} if config["baseline"] else set()) >= set(system.seen)
    for milestone, results in system.results.items():
        if results:  # at least one trial went on from every rung that had results
            assert any(system.progress[t] > milestone for t in results)


@settings(max_examples=150, deadline=None)
@given(searches())
def test_a_system_restored_from_its_saved_state_decides_the_same(drawn):
    config, curves, seed = drawn
    uninterrupted = search(config, curves, seed, restore_every_step=False)["log"]
    assert search(config, curves, seed, restore_every_step=True)["log"] == uninterrupted


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
