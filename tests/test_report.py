"""The experiment report: real plots of the experiment's own data, and a report that says it."""

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from conftest import run_cli

from tune import experiment
from tune.report import curves_figure


def test_report_files_are_written_after_search_and_promotion(smoke_search):
    exp_dir = smoke_search[0]
    done = run_cli("tune.report", "e2e", "--results-dir", str(exp_dir.parent))
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("curves.png", "params.png", "importance.png", "report.md"):
        assert (exp_dir / name).stat().st_size > 0, name
    assert (exp_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    report = (exp_dir / "report.md").read_text()
    assert (
        "![curves](curves.png)" in report
        and "## Top trials" in report
        and "train 48, val 48, test 48" in report
    )


def test_curves_have_one_line_per_trial_with_its_own_data(smoke_search):
    """The best trial and the baseline are lines of their own; every other trial is a line of
    the grey collection, in the order its gid names them."""
    from matplotlib.collections import LineCollection

    exp_dir = smoke_search[0]
    histories = experiment.analysis(exp_dir).trial_dataframes
    table = pd.read_csv(exp_dir / "trials.csv")
    best, baseline = table.trial_id[0], table.loc[table.baseline, "trial_id"].iloc[0]
    fig = curves_figure(histories, best, baseline)
    for ax, column in zip(
        fig.axes, ["train_acc", "val_acc", "train_loss", "val_loss"], strict=True
    ):
        drawn = {line.get_gid(): list(line.get_ydata()) for line in ax.get_lines()}
        assert set(drawn) == {best, baseline}
        (grey,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        others = grey.get_gid().split(",")
        drawn.update({t: list(xy[:, 1]) for t, xy in zip(others, grey.get_segments(), strict=True)})
        assert len(others) + len(ax.get_lines()) == len(table)  # one line each
        assert set(drawn) == set(table.trial_id)
        for trial_id, ys in drawn.items():
            assert ys == list(histories[trial_id][column])
    plt.close(fig)


def test_the_report_reads_the_searched_distributions_from_the_study_not_the_edited_space(
    smoke_search, monkeypatch
):
    """A space edited after its search (here: its rotation range narrowed below the values drawn)
    must not break the report of that search: it uses what the study recorded."""
    from optuna.distributions import FloatDistribution

    import search_spaces
    from tune import report, study

    exp_dir = smoke_search[0]
    recorded = study.distributions(study.load(exp_dir))
    assert set(recorded) >= {"lr", "rotation", "batch_size"} and recorded["lr"].log
    smoke = search_spaces.load("smoke")
    monkeypatch.setitem(smoke.params, "rotation", FloatDistribution(0.0, 1e-9))
    report.write_report(exp_dir)
    assert (exp_dir / "importance.png").stat().st_size > 0


def test_a_promotion_reads_the_importance_shares_back_instead_of_fitting_fanova_again(
    smoke_search, monkeypatch
):
    """fANOVA costs 1-2 s at 1,000 trials: a promotion (redraw False: no trial changed) reads the
    shares the search's report kept in importance.json; a report of the search fits them anew."""
    from tune import report

    exp_dir = smoke_search[0]
    report.write_report(exp_dir)
    kept = json.loads((exp_dir / "importance.json").read_text())
    said = ", ".join(f"{n} {v:.2f}" for n, v in kept.items())
    assert kept and said in (exp_dir / "report.md").read_text()

    def fitted_again(*_):
        raise AssertionError("fANOVA fitted again")

    monkeypatch.setattr(report, "importances", fitted_again)
    report.write_report(exp_dir, redraw=False)
    assert said in (exp_dir / "report.md").read_text()
    with pytest.raises(AssertionError, match="fitted again"):
        report.write_report(exp_dir)
