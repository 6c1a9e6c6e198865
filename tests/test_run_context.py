"""Two searches in one Python process, one after the other, do not share per-run state: each run's
scheduler, searcher and callbacks hold their own RunContext (tune/engine/context.py), not module
globals.
The first search's time budget is spent at once; the second has none and runs to its end.
Each search also runs with the objects that outlive it frozen out of the garbage collector's full
passes, and leaves the collector as it found it."""

import gc
import json

import pandas as pd
import ray
from conftest import DATA_ROOT, run_in_process

from tune import run as tune_run


def test_two_searches_in_one_process_keep_their_own_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TUNE_DATA_ROOT", str(DATA_ROOT))
    frozen, fit_and_write = [], tune_run.fit_and_write

    def fit_and_write_counting_frozen(tuner, *args):
        fit = tuner.fit

        def fit_counting_frozen():
            frozen.append(gc.get_freeze_count())
            return fit()

        tuner.fit = fit_counting_frozen
        return fit_and_write(tuner, *args)

    monkeypatch.setattr(tune_run, "fit_and_write", fit_and_write_counting_frozen)
    common = [
        "--space",
        "smoke",
        "--num-samples",
        "3",
        "--max-passes",
        "2",
        "--results-dir",
        str(tmp_path),
    ]
    try:
        code, out, _ = run_in_process(
            capsys, tune_run.main, *common, "--name", "first", "--time-budget", "0.001"
        )
        assert code == 0 and "time budget" in out
        ray.shutdown()
        code, out, err = run_in_process(capsys, tune_run.main, *common, "--name", "second")
        assert code == 0, out[-2000:] + err[-2000:]
    finally:
        ray.shutdown()
    assert len(frozen) == 2 and min(frozen) > 100_000  # the modules, Ray, torch...
    assert gc.get_freeze_count() == 0
    first = json.loads((tmp_path / "first" / "experiment.json").read_text())
    second = json.loads((tmp_path / "second" / "experiment.json").read_text())
    assert first["ended_by"].startswith("the time budget") and not first["finished"]
    # the first run's budget stayed with it
    assert second["ended_by"] == "all trials" and second["finished"]
    trials = pd.read_csv(tmp_path / "second" / "trials.csv")
    assert len(trials) == 3 and set(trials.status) <= {"COMPLETED", "STOPPED"}
    # each scheduler wrote its own rungs, of its own trials only
    for name in ("first", "second"):
        state = json.loads((tmp_path / name / "scheduler_state.json").read_text())
        table = pd.read_csv(tmp_path / name / "trials.csv")
        assert set(state["seen"]) == set(table.trial_id)
