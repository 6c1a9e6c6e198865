"""Ray's per-epoch async ASHA, the scheduler before successive halving, lives only in
benchmarks/old_asha.py (for benchmarks/scheduler_compare.py): a real search with it still runs
and is read like any other, and tune.run refuses in one line to resume it."""

import json

import pandas as pd
from conftest import run_cli

from data_utils.digits import export


def test_the_old_asha_searches_from_the_benchmarks_and_tune_run_refuses_to_resume_it(tmp_path):
    export(tmp_path / "root" / "digits", 30)
    results = ("--results-dir", str(tmp_path / "results"))
    done = run_cli(
        *("benchmarks.old_asha", "--space", "tiny_digits", "--data-root", str(tmp_path / "root")),
        *("--name", "old", "--num-samples", "6", *results),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp_dir = tmp_path / "results" / "old"
    written = json.loads((exp_dir / "experiment.json").read_text())
    assert written["scheduler"] == "asha" and written["trial_settings"]["budget_unit"] == "epochs"
    assert not (exp_dir / "scheduler_state.json").exists()  # successive halving's rungs
    table = pd.read_csv(exp_dir / "trials.csv")
    assert len(table) == 6 and set(table.status) <= {"COMPLETED", "STOPPED"}
    shown = run_cli("tune.trials", "old", *results)
    assert shown.returncode == 0 and len(shown.stdout.strip().splitlines()) > 6, shown.stderr
    # an interrupted one, as a kill would leave it
    (exp_dir / "experiment.json").write_text(json.dumps({**written, "finished": False}))
    refused = run_cli("tune.run", "--resume", "--name", "old", *results)
    assert refused.returncode == 2 and "benchmarks/old_asha.py" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
