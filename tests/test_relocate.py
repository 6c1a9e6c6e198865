"""An experiment folder can be moved or copied: every path inside it is relative to it."""
import json
import shutil

import pandas as pd

from conftest import run_cli


def test_a_copied_experiment_can_be_listed_promoted_and_reported(smoke_search, tmp_path):
    original = smoke_search[0]
    moved = tmp_path / "elsewhere" / original.name
    shutil.copytree(original, moved, symlinks=True)
    (moved / "test_scores.json").unlink(missing_ok=True)  # other tests may have promoted the original
    results = str(moved.parent)

    listed = run_cli("tune.trials", original.name, "--results-dir", results, "--format", "csv")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert len(pd.read_csv(pd.io.common.StringIO(listed.stdout))) == 3

    promoted = run_cli("tune.promote", original.name, "--results-dir", results)
    assert promoted.returncode == 0, promoted.stdout[-2000:] + promoted.stderr[-2000:]
    scores = json.loads((moved / "test_scores.json").read_text())
    assert (moved / scores["winner"]["checkpoint"]).is_dir()  # the copy's own checkpoint, not the original's

    reported = run_cli("tune.report", original.name, "--results-dir", results)
    assert reported.returncode == 0, reported.stderr[-2000:]
    assert (moved / "report.md").is_file() and (moved / "curves.png").is_file()
