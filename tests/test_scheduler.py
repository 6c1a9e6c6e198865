"""The project's scheduler (tune/engine/scheduler.py), decision by decision, without a search
around it: a trial that reaches a rung before the rung can judge it waits (paused), and goes on
only when enough later results put it in the rung's best third; the baseline is never paused or
stopped; a closed rung stops its losers; the rungs survive a new driver; the time budget pauses
all."""

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from tune.engine import scheduler as scheduler_module
from tune.engine.context import RunContext
from tune.engine.rungs import expected_passes_left, milestones
from tune.engine.scheduler import SuccessiveHalving

BASELINE = {"lr": 1e-3, "dropout": 0.5}
CONTINUE, PAUSE, STOP = TrialScheduler.CONTINUE, TrialScheduler.PAUSE, TrialScheduler.STOP


class FakeTrial:
    """What the scheduler reads of a Ray trial."""

    def __init__(self, name: str, config: dict | None = None):
        self.trial_id, self.config = name, config or {"lr": 0.01, "dropout": 0.1}
        self.status = Trial.RUNNING
        self.run_metadata = SimpleNamespace(last_result={})  # what Ray saved it had reported
        self.placement_group_factory = SimpleNamespace(required_resources={"CPU": 1})

    def set_status(self, status):
        self.status = status

    def update_resources(self, resources: dict):
        self.placement_group_factory = SimpleNamespace(required_resources=dict(resources))


class FakeSearcher:
    """What the study hears of a trial's end: the first word counts, as in tune's StudySearch."""

    def __init__(self):
        self.ended: dict[str, dict | None] = {}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        self.ended.setdefault(trial_id, result)


class FakeController:
    """What the scheduler asks of Ray's TuneController: the trials, and stopping a paused one."""

    def __init__(self):
        self.trials: list[FakeTrial] = []
        self.search_alg = FakeSearcher()
        self.scheduler = None  # told of a trial it stops, as Ray's controller tells its own

    def get_trials(self):
        return self.trials

    def stop_trial(self, trial):
        if trial.status in (Trial.PENDING, Trial.PAUSED):  # as Ray's: no result
            if self.scheduler:
                self.scheduler.on_trial_remove(self, trial)
            self.search_alg.on_trial_complete(trial.trial_id)
        trial.status = Trial.TERMINATED

    def _mark_trial_to_checkpoint(self, trial):
        pass


def run_context(folder: Path, num_samples: int = 10, **changes) -> RunContext:
    return RunContext(
        exp_dir=folder,
        ray_path=str(folder / "ray"),
        num_samples=num_samples,
        budget=9,
        at_once=2,
        cpus_per_trial=1,
        baseline=BASELINE,
        **changes,
    )


@pytest.fixture
def made(tmp_path):
    """A scheduler (rungs at 1 and 3 passes, max 9) and a controller, bound to one run."""

    def make(**changes):
        scheduler = SuccessiveHalving(max_t=9, grace_period=1, reduction_factor=3)
        return scheduler.bind(run_context(tmp_path, **changes)), FakeController()

    return make


def add(scheduler, controller, name, config=None, status=Trial.RUNNING):
    trial = FakeTrial(name, config)
    trial.status = status
    controller.trials.append(trial)
    scheduler.on_trial_add(controller, trial)
    return trial


def restore(scheduler, controller, name, last_result: dict):
    """A trial as Ray brings it back on --resume: PENDING, with the last result Ray saved."""
    trial = FakeTrial(name)
    trial.status, trial.run_metadata.last_result = Trial.PENDING, last_result
    controller.trials.append(trial)
    scheduler.on_trial_add(controller, trial)
    return trial


def report(scheduler, controller, trial, passes: int, val_loss: float) -> str:
    action = scheduler.on_trial_result(controller, trial, {"passes": passes, "val_loss": val_loss})
    if action == PAUSE:
        trial.status = Trial.PAUSED
    elif action == STOP:
        trial.status = Trial.TERMINATED
    return action


def test_a_rung_judges_no_trial_before_it_has_three_results(made):
    scheduler, controller = made()
    first, second, third = (
        add(scheduler, controller, name) for name in ("first", "second", "third")
    )
    # Ray's async ASHA lets the first trials at an empty rung through; here they wait, paused
    assert report(scheduler, controller, first, 1, 0.30) == PAUSE
    assert report(scheduler, controller, second, 1, 0.50) == PAUSE
    # no third result yet: nothing to promote
    assert scheduler.choose_trial_to_run(controller) is None
    # the third result is worse than the first: the rung's best third (1 of 3) is the first
    assert report(scheduler, controller, third, 1, 0.70) == PAUSE
    assert scheduler.choose_trial_to_run(controller) is first
    assert "first" not in scheduler.waiting and scheduler.waiting == {"second": 1, "third": 1}


def test_a_trial_best_at_its_rung_goes_straight_on(made):
    scheduler, controller = made()
    for i, loss in enumerate((0.5, 0.6)):
        report(scheduler, controller, add(scheduler, controller, f"t{i}"), 1, loss)
    best = add(scheduler, controller, "best")
    # 3 results: it is the best third
    assert report(scheduler, controller, best, 1, 0.2) == CONTINUE
    # between rungs nothing is judged
    assert report(scheduler, controller, best, 2, 0.2) == CONTINUE


def test_the_baseline_fills_the_rungs_but_is_never_paused_or_stopped(made):
    scheduler, controller = made()
    baseline = add(scheduler, controller, "baseline", dict(BASELINE))
    assert report(scheduler, controller, baseline, 1, 0.99) == CONTINUE
    # past max_t: its own schedule
    assert report(scheduler, controller, baseline, 9, 0.99) == CONTINUE
    assert scheduler.rungs[1] == {"baseline": 0.99} and scheduler.rungs[3] == {"baseline": 0.99}
    other = add(scheduler, controller, "other")
    # the budget's end, for any other trial
    assert report(scheduler, controller, other, 9, 0.5) == STOP


def test_a_closed_rung_stops_its_losers_and_lets_at_least_one_on(made):
    scheduler, controller = made(num_samples=2)  # two trials in all: the rung will never have three
    best, worst = add(scheduler, controller, "best"), add(scheduler, controller, "worst")
    assert report(scheduler, controller, worst, 1, 0.4) == PAUSE
    assert report(scheduler, controller, best, 1, 0.3) == PAUSE
    # Ray still saving its pause: stopping it now would drop its checkpoint
    worst.status = Trial.RUNNING
    assert scheduler.choose_trial_to_run(controller) is None and 1 not in scheduler.closed
    worst.status = Trial.PAUSED
    chosen = scheduler.choose_trial_to_run(controller)  # every trial suggested, none below: closed
    assert chosen is best and worst.status == Trial.TERMINATED and 1 in scheduler.closed


def test_a_trial_that_can_no_longer_go_on_stops_at_once_instead_of_waiting(made):
    """Five trials in all: one goes on from the first rung (5 // 3). Once two results are in, a
    third trial worse than both can never be the best: it stops; and the waiting trials that a
    later result puts out of reach stop too, before the rung can close (a trial is to come)."""
    scheduler, controller = made(num_samples=5)
    first, second, third = (add(scheduler, controller, n) for n in ("first", "second", "third"))
    assert report(scheduler, controller, first, 1, 0.5) == PAUSE
    assert report(scheduler, controller, second, 1, 0.4) == PAUSE  # the best yet
    # two results, two trials to come: at best third of five, and only one goes on
    assert report(scheduler, controller, third, 1, 0.6) == STOP
    fourth = add(scheduler, controller, "fourth")
    assert report(scheduler, controller, fourth, 1, 0.3) == CONTINUE  # the best third of 4
    scheduler.choose_trial_to_run(controller)
    assert first.status == second.status == Trial.TERMINATED and scheduler.waiting == {}
    assert 1 not in scheduler.closed
    # the rungs' file says who stopped early, for a --resume after a kill
    saved = json.loads(scheduler.run.state_file.read_text())
    assert saved["stopped"] == ["first", "second", "third"]


def test_a_decision_that_stops_waiting_trials_rewrites_the_rungs_file_once(made, monkeypatch):
    """Ray tells the scheduler of each trial it stopped (on_trial_remove); the stop is already in
    the rungs' file, saved by the decision: not rewritten (whole) once more a trial."""
    scheduler, controller = made(num_samples=5)
    controller.scheduler = scheduler
    first, second, third = (add(scheduler, controller, n) for n in ("first", "second", "third"))
    report(scheduler, controller, first, 1, 0.5)
    report(scheduler, controller, second, 1, 0.4)
    report(scheduler, controller, third, 1, 0.6)
    fourth = add(scheduler, controller, "fourth")
    assert report(scheduler, controller, fourth, 1, 0.3) == CONTINUE  # first and second hopeless
    writes, save_atomic = [], scheduler_module.save_atomic
    monkeypatch.setattr(
        scheduler_module, "save_atomic", lambda *args: writes.append(1) or save_atomic(*args)
    )
    scheduler.choose_trial_to_run(controller)
    assert first.status == second.status == Trial.TERMINATED and len(writes) == 1
    saved = json.loads(scheduler.run.state_file.read_text())
    assert {"first", "second"} <= set(saved["ended"]) & set(saved["stopped"])


def test_the_rungs_and_the_waiting_survive_a_new_driver(made):
    scheduler, controller = made()
    first = add(scheduler, controller, "first")
    assert report(scheduler, controller, first, 1, 0.3) == PAUSE
    # a new driver (--resume): Ray brings the trial back PENDING; it still waits at its rung
    restarted, controller = made()
    again = restore(restarted, controller, "first", {"passes": 1, "val_loss": 0.3})
    assert again.status == Trial.PAUSED and restarted.waiting == {"first": 1}
    late = add(restarted, controller, "late")
    assert report(restarted, controller, late, 1, 0.9) == PAUSE
    assert restarted.rungs[1] == {"first": 0.3, "late": 0.9}


def test_a_driver_killed_before_ray_saved_a_trials_pause_resumes_it_from_what_ray_saved(made):
    """The rungs' file is written at each decision, Ray's experiment state a second or so later:
    a trial that waited at a rung in the file but not in Ray's state runs again from Ray's last
    checkpoint and is judged on its new result."""
    scheduler, controller = made()
    ahead, *others = (add(scheduler, controller, n) for n in ("ahead", "b", "c"))
    for trial, loss in zip([ahead, *others], (0.3, 0.5, 0.9), strict=True):
        assert report(scheduler, controller, trial, 1, loss) == PAUSE
    assert scheduler.choose_trial_to_run(controller) is ahead
    assert report(scheduler, controller, ahead, 2, 0.3) == CONTINUE
    assert report(scheduler, controller, ahead, 3, 0.2) == PAUSE
    # Ray had saved "ahead" after 2 passes
    restarted, controller = made()
    again = restore(restarted, controller, "ahead", {"passes": 2, "val_loss": 0.3})
    assert again.status == Trial.PENDING and "ahead" not in restarted.waiting
    assert restarted.rungs[3] == {} and restarted.rungs[1]["ahead"] == 0.3
    assert restarted.choose_trial_to_run(controller) is again
    assert report(restarted, controller, again, 3, 0.25) == PAUSE
    assert restarted.rungs[3] == {"ahead": 0.25}


def test_a_trial_ray_had_not_saved_when_the_driver_was_killed_is_forgotten_by_the_rungs(made):
    """Ray starts another trial in its place; the lost one's result must not judge the rest."""
    scheduler, controller = made(num_samples=3)
    lost = add(scheduler, controller, "lost")
    assert report(scheduler, controller, lost, 1, 0.1) == PAUSE
    restarted, controller = made(num_samples=3)
    kept = restore(restarted, controller, "kept", {})
    restarted.choose_trial_to_run(controller)
    assert restarted.rungs[1] == {} and "lost" not in restarted.waiting
    assert restarted.halving.seen == {"kept"}  # two more to suggest, not one
    assert report(restarted, controller, kept, 1, 0.5) == PAUSE


def test_a_trial_stopped_at_a_closed_rung_but_saved_paused_by_ray_stops_on_resume(made):
    scheduler, controller = made(num_samples=2)
    best, worst = add(scheduler, controller, "best"), add(scheduler, controller, "worst")
    report(scheduler, controller, worst, 1, 0.4), report(scheduler, controller, best, 1, 0.3)
    assert scheduler.choose_trial_to_run(controller) is best and worst.status == Trial.TERMINATED
    restarted, controller = made(num_samples=2)
    restore(restarted, controller, "best", {"passes": 1, "val_loss": 0.3})
    paused = restore(restarted, controller, "worst", {"passes": 1, "val_loss": 0.4})
    paused.status = Trial.PAUSED  # what Ray saved before the rung closed
    restarted.choose_trial_to_run(controller)
    assert paused.status == Trial.TERMINATED


def test_a_trial_stopped_here_that_ray_brings_back_pending_is_stopped_but_an_errored_one_runs(
    made,
):
    """Killed before Ray saved a stop (it saved the trial running, and brings it back PENDING to
    run on): the rungs' file says it stopped, so it stops. A trial that errored also comes back
    PENDING: Ray retries it, and so it runs."""
    scheduler, controller = made(num_samples=3)
    best, worst, crashed = (add(scheduler, controller, n) for n in ("best", "worst", "crashed"))
    report(scheduler, controller, worst, 1, 0.4), report(scheduler, controller, best, 1, 0.3)
    crashed.status = Trial.ERROR
    scheduler.on_trial_error(controller, crashed)
    assert scheduler.choose_trial_to_run(controller) is best and worst.status == Trial.TERMINATED
    restarted, controller = made(num_samples=3)
    restore(restarted, controller, "best", {"passes": 1, "val_loss": 0.3}).status = Trial.PAUSED
    pending = restore(restarted, controller, "worst", {"passes": 1, "val_loss": 0.4})
    retried = restore(restarted, controller, "crashed", {})
    chosen = [restarted.choose_trial_to_run(controller) for _ in range(2)]
    assert pending.status == Trial.TERMINATED and pending not in chosen
    assert retried in chosen
    # Ray hands the searcher a stopped trial's last result only when it stops it: the study
    # hears it now, or it would call the trial stopped before its first pass (a CI failure)
    assert controller.search_alg.ended == {"worst": {"passes": 1, "val_loss": 0.4}}


def test_the_last_trial_running_gets_the_idle_cpus(made):
    scheduler, controller = made(num_samples=1)
    alone = add(scheduler, controller, "alone", dict(BASELINE))
    # paused to come back with both CPUs
    assert report(scheduler, controller, alone, 1, 0.5) == PAUSE
    assert scheduler.choose_trial_to_run(controller) is alone
    assert alone.placement_group_factory.required_resources == {"CPU": 2}


def test_once_the_budget_is_spent_trials_pause_and_none_starts(made):
    scheduler, controller = made(deadline=time.time() - 1)
    baseline = add(scheduler, controller, "baseline", dict(BASELINE))
    assert report(scheduler, controller, baseline, 1, 0.2) == PAUSE
    add(scheduler, controller, "pending", status=Trial.PENDING)
    assert scheduler.choose_trial_to_run(controller) is None


def test_a_trial_is_expected_to_go_on_from_each_rung_with_chance_one_in_factor():
    assert milestones(1, 3, 9) == [1, 3]
    # to pass 1; on to 3 with chance 1/3; on to 9 with chance 1/9
    assert expected_passes_left(0, [1, 3], 3, 9) == pytest.approx(1 + 2 / 3 + 6 / 9)
    assert expected_passes_left(1, [1, 3], 3, 9) == pytest.approx(2 + 6 / 3)
    assert expected_passes_left(2, [1, 3], 3, 9) == pytest.approx(1 + 6 / 3)
    assert expected_passes_left(9, [1, 3], 3, 9) == 0


def test_the_time_left_counts_the_trials_waiting_at_a_rung_and_never_less_than_the_baseline(
    tmp_path,
):
    """The estimate (tune/engine/progress.py), computed here by hand: 4 trials, rungs at 1 and 3
    of 9 passes, 2 at a time; one trial waits at rung 1 (it goes on with chance 1/3)."""
    from tune.engine.progress import Progress

    run = run_context(tmp_path, num_samples=4)
    progress = Progress().bind(run)
    progress.setup()
    trials = [FakeTrial("base", BASELINE)] + [FakeTrial(f"t{i}") for i in range(3)]
    for number, trial in enumerate(trials):
        trial.experiment_tag = f"{number + 1}_x"
        seconds = 20.0 if trial.config == BASELINE else 10.0
        progress.on_trial_result(0, trials, trial, {"passes": 1, "time_this_iter_s": seconds})
    run.waiting = {"t0"}
    # the others: t0 (4 passes) / 3 + t1 and t2 4 each, at 10 s: 93.3 s; beside the baseline's
    # 8 passes of 20 s, 2 at a time: 126.7 s; but the baseline alone still needs 160 s
    assert progress.time_left(trials) == pytest.approx(160.0)
    for trial in trials[2:]:  # t1 and t2's second passes are slower
        progress.on_trial_result(0, trials, trial, {"passes": 2, "time_this_iter_s": 50.0})
    # t1, t2: 1 + 6 / 3 = 3 passes each, t0 4 / 3: 22 / 3 passes at a mean pass of
    # (10 + 30 + 30) / 3 s; (160 + 22 / 3 x 70 / 3) / 2 = 165.6 s
    assert progress.time_left(trials) == pytest.approx((160 + 22 / 3 * 70 / 3) / 2)
    run.waiting = set()  # t0 went on: 4 passes, not 4 / 3, left
    assert progress.time_left(trials) == pytest.approx((160 + 10 * 70 / 3) / 2)


def study_search(folder: Path, space, baseline: dict):
    """The search's Optuna searcher over `space` (params, and `fixed` if it has one)."""
    from tune import METRIC, MODE
    from tune.engine.search import DefineByRun
    from tune.engine.searcher import StudySearch

    return StudySearch(
        run=run_context(folder),
        space=DefineByRun(space),
        metric=METRIC,
        mode=MODE,
        seed=0,
        baseline=baseline,
        fixed=getattr(space, "fixed", {}),
        description={},
    )


def test_a_later_draw_equal_to_the_baselines_values_is_not_a_second_baseline(made, tmp_path):
    """The searcher flags the trial it enqueued as the baseline; a space whose every parameter
    has one value draws the baseline's values for every trial, and only trial 0 is it."""
    from optuna.distributions import CategoricalDistribution

    from tune import is_baseline

    space = SimpleNamespace(params={k: CategoricalDistribution([v]) for k, v in BASELINE.items()})
    searcher = study_search(tmp_path, space, BASELINE)
    first, second = searcher.suggest("first"), searcher.suggest("second")
    assert {k: second[k] for k in BASELINE} == BASELINE == {k: first[k] for k in BASELINE}
    assert is_baseline(first, BASELINE) and not is_baseline(second, BASELINE)
    # the scheduler: the baseline is never paused; its twin waits at the rung like any trial
    scheduler, controller = made()
    baseline, twin = add(scheduler, controller, "b", first), add(scheduler, controller, "t", second)
    assert report(scheduler, controller, baseline, 1, 0.9) == CONTINUE
    assert report(scheduler, controller, twin, 1, 0.5) == PAUSE


def test_the_baseline_keeps_its_own_value_of_a_setting_the_space_fixes_for_the_others(tmp_path):
    """The pretrained space fixes a frozen backbone for every trial; the report's baseline
    fine-tunes every layer, its own value (search_spaces/pretrained_dataset1.py)."""
    from optuna.distributions import CategoricalDistribution

    space = SimpleNamespace(
        params={"lr": CategoricalDistribution([1e-3])}, fixed={"freeze_backbone": True}
    )
    searcher = study_search(tmp_path, space, {"lr": 1e-3, "freeze_backbone": False})
    first, second = searcher.suggest("first"), searcher.suggest("second")
    assert (first["freeze_backbone"], second["freeze_backbone"]) == (False, True)


def test_an_asha_trial_with_offline_rotations_stopped_at_a_rung_is_stopped_not_completed(
    tmp_path,
):
    """Under the old ASHA the budget is epochs; an epoch of offline rotations is three passes."""
    import json

    from conftest import FIRST_EXPERIMENT_JSON

    from tune import ended_status
    from tune.settings import from_json, read

    def unit(scheduler):
        return from_json({**FIRST_EXPERIMENT_JSON, "scheduler": scheduler}).budget_unit

    stopped_at_its_rung = {"epoch": 3, "passes": 9}  # of a 9-epoch budget
    assert ended_status(stopped_at_its_rung, 9, unit("asha")) == "STOPPED"
    # before "scheduler" was recorded
    (tmp_path / "experiment.json").write_text(json.dumps(FIRST_EXPERIMENT_JSON))
    assert ended_status(stopped_at_its_rung, 9, read(tmp_path).budget_unit) == "STOPPED"
    assert ended_status(stopped_at_its_rung, 9, unit("halving")) == ("COMPLETED")


def test_a_scheduler_pickled_before_the_rungs_were_their_own_object_resumes(made):
    """--resume of a search started by the previous version: Ray unpickles its scheduler."""
    import json

    scheduler, controller = made()
    first = add(scheduler, controller, "first")
    assert report(scheduler, controller, first, 1, 0.3) == PAUSE
    # the old state file's fields, and the old object's
    state = scheduler.halving.state()
    old_file = {k: state[k] for k in ("rungs", "waiting", "progress", "seen", "ended", "closed")}
    scheduler.run.state_file.write_text(json.dumps(old_file))
    old = {"milestones": [1, 3], "factor": 3, "max_t": 9, "rungs": {}, "waiting": {}}
    restored = SuccessiveHalving.__new__(SuccessiveHalving)
    restored.__setstate__(old)
    restored.bind(scheduler.run)
    again = restore(restored, FakeController(), "first", {"passes": 1, "val_loss": 0.3})
    assert again.status == Trial.PAUSED and restored.waiting == {"first": 1}
    assert restored.rungs[1] == {"first": 0.3} and restored.halving.milestones == [1, 3]
