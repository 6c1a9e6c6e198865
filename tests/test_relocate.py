"""An experiment folder can be moved or copied: every path inside it is relative to it."""

import json
import shutil

import pandas as pd
from conftest import run_in_process

from tune import promote, report, trials


def test_a_copied_experiment_can_be_listed_promoted_and_reported(smoke_search, tmp_path, capsys):
    original = smoke_search[0]
    moved = tmp_path / "elsewhere" / original.name
    shutil.copytree(original, moved, symlinks=True)
    (moved / "test_scores.json").unlink(missing_ok=True)  # other tests may have promoted it
    results = str(moved.parent)
    # The original out of sight while the copy is used: a path that still led there would fail.
    away = original.with_name(original.name + ".away")
    original.rename(away)
    try:
        code, out, err = run_in_process(
            capsys, trials.main, original.name, "--results-dir", results, "--format", "csv"
        )
        assert code == 0, err[-2000:]
        assert len(pd.read_csv(pd.io.common.StringIO(out))) == 3

        code, out, err = run_in_process(
            capsys, promote.main, original.name, "--results-dir", results
        )
        assert code == 0, out[-2000:] + err[-2000:]
        scores = json.loads((moved / "test_scores.json").read_text())
        assert (moved / scores["winner"]["checkpoint"]).is_dir()  # the copy's own checkpoint

        code, _, err = run_in_process(capsys, report.main, original.name, "--results-dir", results)
        assert code == 0, err[-2000:]
        assert (moved / "report.md").is_file() and (moved / "curves.png").is_file()
    finally:
        away.rename(original)


def test_an_experiment_json_this_version_cannot_read_is_one_line(tmp_path, capsys):
    """Settings a command cannot read (a hand-edited or truncated experiment.json): one line
    naming the file, exit 2, for the table, the report and a promotion alike."""
    exp_dir = tmp_path / "broken"
    exp_dir.mkdir()
    (exp_dir / "experiment.json").write_text(json.dumps({"name": "broken", "storage": None}))
    for command in (trials.main, report.main, promote.main):
        code, out, err = run_in_process(capsys, command, "broken", "--results-dir", str(tmp_path))
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"{exp_dir / 'experiment.json'} is not an experiment's settings" in err
        assert "Traceback" not in out + err
