"""benchmarks/simulate.py on the committed curves: each scheduler starts every trial once, never
runs more trials than workers, leaves none waiting unjudged; the project's rungs judge every
trial at its rung; async ASHA lets the first trial at an empty rung through; synchronous SH
trains a rung's survivors only after every trial has reached it. And the extractor turns a
Ray folder into the curves the simulator reads."""

import json

import pytest

from benchmarks import simulate
from tune.engine.rungs import CONTINUE, PAUSE, STOP

CURVES = simulate.load([simulate.CURVES])
GRACE, MAX_T = simulate.budget(CURVES)
MILESTONES = [2, 6]


def run(scheduler: str, workers: int = 4, n: int = 30, seed: int = 0) -> simulate.Simulation:
    trials = simulate.draw(CURVES, n, seed)
    return simulate.Simulation(scheduler, trials, workers, GRACE, MAX_T).run()


def reports(sim: simulate.Simulation, passes: int) -> list[tuple[float, int, str]]:
    """(clock, trial, action) of every result after `passes` passes, in the order decided."""
    return [(c, t, what) for c, t, what, p in sim.log if what != "start" and p == passes]


def test_the_committed_curves_and_the_short_curve_rule():
    assert len(CURVES) == 30 and sum(c.baseline for c in CURVES) == 1
    assert (GRACE, MAX_T) == (2, 10)  # pretrained_dataset1's grace period and max_passes
    short = next(c for c in CURVES if len(c.losses) == 2)
    loss, seconds, images = short.at(7)
    assert loss == short.losses[-1] and images == short.images[-1]
    assert seconds == pytest.approx(sum(short.seconds) / 2)
    assert short.at(2) == (short.losses[1], short.seconds[1], short.images[1])


def test_trials_are_drawn_with_the_seed_and_trial_0_is_the_baseline():
    drawn = simulate.draw(CURVES, 50, seed=0)
    assert drawn == simulate.draw(CURVES, 50, seed=0) != simulate.draw(CURVES, 50, seed=1)
    assert drawn[0].baseline and not any(c.baseline for c in drawn[1:])
    assert len({c.name for c in drawn[1:]}) > 10  # with replacement, but not one curve


@pytest.mark.parametrize("scheduler", list(simulate.SCHEDULERS))
@pytest.mark.parametrize("workers, n", [(4, 30), (1, 8), (40, 30)])
def test_every_trial_runs_once_on_a_free_worker_and_ends_judged(scheduler, workers, n):
    sim = run(scheduler, workers, n)
    assert [t.starts for t in sim.trials] == [1] * n
    in_flight, most = set(), 0
    for _, trial, what, _ in sim.log:
        if what == "start":
            in_flight.add(trial)
        else:
            in_flight.discard(trial)
        most = max(most, len(in_flight))
    assert most == min(workers, n)
    baseline = sim.trials[0]
    assert baseline.passes == MAX_T and baseline.end == "max_t" and baseline.waited == 0
    for trial in sim.trials[1:]:
        assert (
            trial.end == "max_t"
            and trial.passes == MAX_T
            or (trial.end == "stopped" and trial.passes in MILESTONES)
        ), (trial.end, trial.passes)
    summary = sim.summary()
    assert 0 < summary["util"] <= 1 and 0 < summary["util others"] <= 1
    assert summary["left waiting"] == 0
    assert summary["wall"] >= sum(baseline.curve.seconds)  # the baseline trains throughout


@pytest.mark.parametrize("workers", [4, 40])
def test_ours_judges_every_trial_at_its_rung_and_leaves_none_waiting(workers):
    sim = run("ours", workers)
    assert sim.policy.rungs.waiting == {}
    assert sim.policy.rungs.ended >= set(range(1, 30))
    paused = {t for _, t, what in reports(sim, 2) if what == PAUSE}
    assert paused, "nobody waited at the first rung: the rungs were not driven"
    for milestone in MILESTONES:  # a trial goes on only once its rung has 3 results
        results = 0
        for _, trial, what, passes in sim.log:
            results += what != "start" and passes == milestone
            if trial != 0 and what == "start" and passes == milestone + 1:
                assert results >= 3, f"trial {trial} went on from {milestone} unjudged"


def test_async_asha_lets_the_first_trial_at_an_empty_rung_through_and_never_pauses():
    sim = run("async ASHA")
    for milestone in MILESTONES:
        _, first, action = reports(sim, milestone)[0]
        assert first != 0 and action == CONTINUE
    actions = {what for _, _, what, _ in sim.log}
    assert PAUSE not in actions and STOP in actions
    assert any(t.end == "stopped" for t in sim.trials)


def test_async_asha_cuts_at_the_third_of_the_results_before_it():
    asha = simulate.AsyncASHA(5, GRACE, MAX_T)
    for trial, loss in ((1, 0.1), (2, 0.2), (3, 0.3)):
        asha.report(trial, 2, loss)
    # the cutoff of [0.1, 0.2, 0.3] is 0.167; with 0.19 itself recorded first it would be 0.19
    assert asha.report(4, 2, 0.19) == STOP
    assert asha.report(0, 2, 0.9) == CONTINUE  # the baseline
    assert asha.report(5, 2, 0.12) == CONTINUE
    assert asha.report(5, MAX_T, 0.12) == STOP


@pytest.mark.parametrize("workers", [4, 40])
def test_sync_sh_trains_a_rungs_survivors_only_after_every_trial_reached_it(workers):
    sim = run("sync SH", workers)
    for milestone in MILESTONES:
        reached = [c for c, t, _ in reports(sim, milestone) if t != 0]
        went_on = [(c, t) for c, t, what, p in sim.log if what == "start" and p == milestone + 1]
        went_on = [(c, t) for c, t in went_on if t != 0]
        assert went_on and min(c for c, _ in went_on) >= max(reached)
        assert len(went_on) <= max(1, (len(reached) + 1) // 3)
    assert sim.summary()["waited"] > 0


def write_trial(folder, trial_id, config, results):
    (folder / trial_id).mkdir(parents=True)
    lines = [
        json.dumps({"trial_id": trial_id, "config": config, "cache_s": 0.0, **r}) for r in results
    ]
    (folder / trial_id / "result.json").write_text("\n".join(lines) + "\n")


def test_extract_writes_one_row_a_pass_with_its_own_seconds_and_images(tmp_path):
    ray = tmp_path / "ray"
    result = {"time_this_iter_s": 2.0}
    write_trial(
        ray,
        "base",
        {"lr": 1e-3, "baseline": True},
        [
            {"passes": 1, "val_loss": 0.5, "train_images": 100, **result, "cache_s": 1.5},
            {"passes": 2, "val_loss": 0.9, "train_images": 200, **result},
            {"passes": 2, "val_loss": 0.4, "train_images": 200, **result},  # again, resumed
        ],
    )
    write_trial(
        ray, "other", {"lr": 1e-2}, [{"passes": 1, "val_loss": 0.7, "train_images": 100, **result}]
    )
    out = tmp_path / "curves.csv"
    assert simulate.extract(ray, out) == 2
    base, other = simulate.load([out])
    assert base.baseline and not other.baseline
    assert base.losses == (0.5, 0.4) and base.seconds == (0.5, 2.0) and base.images == (100, 100)
    assert simulate.budget([base, other]) == (1, 2)


def test_the_table_has_a_row_per_scheduler_and_none_left_waiting(capsys):
    simulate.main(["--workers", "3", "--trials", "12"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 3 | 12 |")]
    assert [r.split(" | ")[2] for r in rows] == list(simulate.SCHEDULERS)
    assert all(r.split(" | ")[12] == "0" for r in rows)  # left waiting
