"""The project's ASHA (tune/scheduler.py), decision by decision, without a search around it:
it stops a trial that trails at a rung, never the report's baseline, keeps its rungs across a
restart of the driver, and pauses everything once the time budget is spent."""
from types import SimpleNamespace

import pytest
from ray.tune.schedulers import TrialScheduler

from tune import budget, scheduler
from tune.scheduler import ASHA

BASELINE = {"lr": 1e-3, "dropout": 0.5}


@pytest.fixture
def asha(tmp_path):
    scheduler.keep_state_in(tmp_path / "asha_state.pkl")
    yield lambda: ASHA(BASELINE, time_attr="training_iteration", max_t=9, grace_period=1, reduction_factor=3,
                       metric="val_loss", mode="min")
    budget.start(None)


def trial(name: str, config: dict | None = None):
    return SimpleNamespace(trial_id=name, config=config or {"lr": 0.01, "dropout": 0.1})


def report(asha, who, epoch: int, val_loss: float) -> str:
    return asha.on_trial_result(None, who, {"training_iteration": epoch, "val_loss": val_loss})


def with_three_good_trials_at_the_first_rung(asha):
    for i in range(3):
        who = trial(f"good{i}")
        asha.on_trial_add(None, who)
        assert report(asha, who, 1, 0.30 - i / 100)  # each better than the last == TrialScheduler.CONTINUE


def test_a_trial_that_trails_at_a_rung_is_stopped_but_the_baseline_never_is(asha):
    asha = asha()
    with_three_good_trials_at_the_first_rung(asha)
    bad, baseline = trial("bad"), trial("baseline", dict(BASELINE))
    for who in (bad, baseline):
        asha.on_trial_add(None, who)
    assert report(asha, bad, 1, 0.90) == TrialScheduler.STOP
    assert report(asha, baseline, 1, 0.95) == TrialScheduler.CONTINUE  # as bad, and exempt
    assert report(asha, baseline, 3, 0.99) == TrialScheduler.CONTINUE
    assert report(asha, trial("good0"), 3, 0.20) == TrialScheduler.CONTINUE


def test_the_rungs_survive_a_new_driver(asha):
    with_three_good_trials_at_the_first_rung(asha())
    restarted = asha()  # what Tuner.restore brings back: a scheduler with empty rungs, and the state file
    late = trial("late")
    restarted.on_trial_add(None, late)
    assert report(restarted, late, 1, 0.90) == TrialScheduler.STOP


def test_once_the_budget_is_spent_trials_pause_and_none_starts(asha):
    asha = asha()
    with_three_good_trials_at_the_first_rung(asha)
    budget.start(1e-9)  # a budget already spent
    assert report(asha, trial("good0"), 3, 0.20) == TrialScheduler.PAUSE
    assert asha.choose_trial_to_run(None) is None
