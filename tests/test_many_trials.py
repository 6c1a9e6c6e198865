"""A search of 100 trials (the tiny_digits space: a trial trains in a fraction of a second), so
that what grows with the trials is exercised: every trial is in the table, the study and the
rungs exactly once, and each rung judged what it should. benchmarks/many_trials.py measures the
same search at 1,000 trials."""

import json

import pandas as pd
import pytest
from conftest import assert_study_matches_the_trial_table, run_cli

from data_utils.digits import export

TRIALS = 100


@pytest.mark.alone  # .ci/run runs it by itself: its goal is under 2 minutes (issue 35)
def test_a_search_of_100_trials_keeps_each_trial_once_in_the_table_the_study_and_the_rungs(
    tmp_path,
):
    export(tmp_path / "root" / "digits", 30)
    done = run_cli(
        *("tune.run", "--space", "tiny_digits", "--data-root", str(tmp_path / "root")),
        *("--name", "many", "--num-samples", str(TRIALS), "--max-concurrent", "2"),
        *("--results-dir", str(tmp_path / "results")),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp_dir = tmp_path / "results" / "many"
    table = pd.read_csv(exp_dir / "trials.csv")
    assert len(table) == TRIALS and table.trial_id.is_unique
    assert set(table.status) <= {"COMPLETED", "STOPPED"} and table.baseline.sum() == 1
    assert_study_matches_the_trial_table(exp_dir)
    rungs = json.loads((exp_dir / "scheduler_state.json").read_text())
    assert sorted(rungs["seen"]) == sorted(rungs["ended"]) == sorted(table.trial_id)
    assert rungs["waiting"] == {}
    # the one rung (1 pass of at most 3): every trial's result is there; its final best third
    # all went on (at once, promoted by later results, or when the rung closed), the rest stopped
    first = rungs["rungs"]["1"]
    assert sorted(first) == sorted(table.trial_id)
    went_on = set(table.trial_id[table.passes > 1])
    assert set(sorted(first, key=first.get)[: TRIALS // 3]) <= went_on
    assert (table.passes[table.status == "STOPPED"] == 1).all()
    # after the search only the best 5 trials (--keep-checkpoints' default) and the baseline keep
    # a checkpoint, one each: what promotion may load
    kept = {path.parent.name for path in (exp_dir / "ray").glob("*/checkpoint_*")}
    assert len(list((exp_dir / "ray").glob("*/checkpoint_*"))) == len(kept)
    assert kept == set(table.trial_id.head(5)) | set(table.trial_id[table.baseline])
    refused = run_cli(
        *("tune.promote", "many", "--results-dir", str(tmp_path / "results"), "--ensemble", "6")
    )
    assert refused.returncode == 2 and "--keep-checkpoints 5" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def test_ray_saves_its_state_every_second_in_small_searches_and_less_often_in_large_ones():
    """Each save writes Ray's whole experiment state (~19 KB a trial): every second at 1,000
    trials made the driver's slowest calls (benchmarks/README.md, "Many trials")."""
    from tune.engine.search import state_save_period

    assert [state_save_period(n) for n in (3, 100, 199, 200, 1000, 2000)] == [1, 1, 1, 2, 10, 20]
