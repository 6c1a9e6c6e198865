"""experiment.json as every version wrote it reads into the typed settings (tune/settings.py),
and is written back under this version's names: the budget is `budget`, in `budget_unit`."""

import json

from conftest import FIRST_EXPERIMENT_JSON

from tune import trial_inputs
from tune.settings import from_json

# the version before the budget was renamed (2026-12-04): a successive-halving search of 10 passes
BEFORE_THE_RENAME = {
    **FIRST_EXPERIMENT_JSON,
    "max_epochs": 10,
    "scheduler": "halving",
    "trial_settings": {
        "model": "seed_cnn",
        "max_epochs": 10,
        "budget": "passes",
        "seed": 0,
        "baseline": {"lr": 0.001},
        "inputs": {"seed_cnn": {"image_size": 256, "tensors_file": "images_256.pt"}},
    },
}


def test_every_older_experiment_json_reads_its_budget_in_its_own_unit():
    first = from_json(FIRST_EXPERIMENT_JSON)  # Ray's ASHA: epochs
    assert (first.budget, first.budget_unit) == (9, "epochs")
    assert (first.trial_settings.budget, first.trial_settings.budget_unit) == (9, "epochs")
    before = from_json(BEFORE_THE_RENAME)
    assert (before.budget, before.budget_unit) == (10, "passes")
    assert (before.trial_settings.budget, before.trial_settings.budget_unit) == (10, "passes")
    # a searched trial of it is capped at its 10 passes; the baseline trains its own schedule
    assert trial_inputs.for_trial({"lr": 0.01}, before.trial_settings).max_passes == 10
    assert trial_inputs.for_trial({"lr": 0.001}, before.trial_settings).max_passes is None


def test_settings_are_written_back_under_this_versions_names_and_read_the_same():
    before = from_json(BEFORE_THE_RENAME)
    written = json.loads(json.dumps(before.as_json()))
    assert "max_epochs" not in written and "max_epochs" not in written["trial_settings"]
    assert written["budget"] == written["trial_settings"]["budget"] == 10
    assert written["trial_settings"]["budget_unit"] == "passes"
    assert from_json(written) == before
