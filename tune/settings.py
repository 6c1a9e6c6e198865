"""What one search is, as its experiment.json records it: the experiment's settings and what
its trials share, as dataclasses. `read` is the one place where what older versions wrote
differently (or did not write) is understood; `as_json` writes the same keys back. Imports
nothing heavy: every Ray worker unpickles a TrialSettings."""

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from data_utils.layout import SMOKING_CLASSES
from tune.errors import UsageError


@dataclass(frozen=True)
class ModelInputs:
    """One model a trial may build: its input size and its files (relative to the experiment
    folder), and what its trials compute in."""

    image_size: int
    tensors_file: str
    # training.precision.Precision's fields: the fastest measured for the model on this CPU
    precision: dict = field(default_factory=dict)
    weights: dict | None = None  # where its ImageNet weights came from: path, sha256, origin
    features_file: str | None = None  # its cached activations, built by the first frozen trial
    cut_stages: int = 0  # how far back into the network that cache reaches


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of a search shares; saved so that --resume rebuilds the same trainable."""

    model: str  # the baseline's (a space may search `model`)
    budget: int  # a trial's budget, in budget_unit
    seed: int
    inputs: dict  # model name -> ModelInputs, per model a trial may build
    classes: list = field(default_factory=lambda: list(SMOKING_CLASSES))
    baseline: dict | None = None  # the seed report's settings (recorded here since passes)
    cpus_per_trial: int = 1
    budget_unit: str = "passes"  # or epochs (Ray's old ASHA, and every search before passes)
    precision: dict = field(default_factory=dict)  # the baseline model's
    imagenet: bool = False  # whether a trial may start from ImageNet weights
    weights_file: str | None = None  # before weights were recorded per model: resnet18's


@dataclass
class Settings:
    """experiment.json: the search as it was asked for, and how its runs went (`finished`,
    `ended_by`, `wall_time_s`, the only fields a run changes)."""

    name: str
    space: str
    model: str
    dataset: str
    dataset_dir: str
    classes: list  # label = index
    split_sizes: dict
    budget: int  # a trial's, in budget_unit: passes over the training split (--max-passes)
    seed: int
    cpus_per_trial: int
    baseline: dict
    num_samples: int
    max_concurrent: int
    trial_settings: TrialSettings
    scheduler: str = "halving"
    grace_period: int = 1
    keep_checkpoints: int | None = None  # None: every trial keeps its checkpoint (before the rule)
    precision: dict = field(default_factory=dict)  # the baseline's, and the CPU's capabilities
    space_file: str | None = None  # a --space file's copy, read by --resume, promote and report
    address: str | None = None
    storage: str | None = None
    space_needed: int = 0  # bytes the search was estimated to write
    finished: bool = False
    ended_by: str | None = None
    wall_time_s: float = 0.0

    @property
    def budget_unit(self) -> str:
        return budget_unit(self.scheduler)

    def as_json(self) -> dict:
        """The settings as experiment.json holds them (fields that are None left out)."""
        return asdict(self, dict_factory=lambda pairs: {k: v for k, v in pairs if v is not None})


def budget_unit(scheduler: str) -> str:
    """What a trial's budget counts: passes under successive halving, epochs under Ray's ASHA
    (benchmarks/old_asha.py, and every experiment from before `scheduler` was recorded)."""
    return "passes" if scheduler == "halving" else "epochs"


def known(cls, given: dict) -> dict:
    """`given` without the keys `cls` has no field for (written by older versions, unused now)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in given.items() if k in names}


def trial_settings(given: dict) -> TrialSettings:
    """TrialSettings from experiment.json's `trial_settings`, as any version wrote them."""
    given = dict(given)
    if "max_epochs" in given:  # before 2026-12-05: the budget was max_epochs, its unit `budget`
        given["budget_unit"] = given.pop("budget", "epochs")  # none recorded before passes
        given["budget"] = given.pop("max_epochs")
    inputs = {model: dict(found) for model, found in given.get("inputs", {}).items()}
    if "tensors_file" in given:  # written before a search could choose its model: its one model's
        inputs = {
            given["model"]: {
                name: given[name]
                for name in ("image_size", "tensors_file", "features_file")
                if name in given
            }
        }
    for found in inputs.values():
        # per model since 2026-12: the search's one precision before (none: fp32)
        found.setdefault("precision", given.get("precision", {}))
    given["inputs"] = {model: ModelInputs(**known(ModelInputs, v)) for model, v in inputs.items()}
    given["classes"] = list(given.get("classes") or SMOKING_CLASSES)  # before other data sets
    return TrialSettings(**known(TrialSettings, given))


def from_json(given: dict) -> Settings:
    """Settings from an experiment.json of any version."""
    given = dict(given)
    given.setdefault("scheduler", "asha")  # before it was recorded: Ray's ASHA, per epoch
    if "max_epochs" in given:  # the budget's name before 2026-12-05
        given["budget"] = given.pop("max_epochs")
    given["classes"] = list(given.get("classes") or SMOKING_CLASSES)  # before other data sets
    # the first version kept the trials' settings out of the file: its own fields said them
    first = {"tensors_file": f"images_{given.get('image_size')}.pt", "budget_unit": "epochs"}
    for name in ("model", "image_size", "budget", "seed", "cpus_per_trial"):
        if name in given:
            first[name] = given[name]
    given["trial_settings"] = trial_settings(given.get("trial_settings", first))
    return Settings(**known(Settings, given))


def read(exp_dir: Path) -> Settings:
    """experiment.json's settings; one line (UsageError) for a file this version cannot read."""
    path = Path(exp_dir) / "experiment.json"
    try:
        return from_json(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise UsageError(
            f"{path} is not an experiment's settings this version can read ({error!r}): "
            f"restore it from a copy, or run the search again"
        ) from None
