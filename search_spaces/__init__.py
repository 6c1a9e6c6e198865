"""Named search spaces: one small module each, plain data a user can copy and edit.

A space module defines:
  dataset          folder name under the data root
  model            a name from models.INPUTS, or any timm model as "timm/<architecture>"
                   (models/zoo.py): the baseline's, and every trial's unless `params`
                   searches `model` too (a Choice of names; each trial then builds the one it drew)
  image_size       optional; each model's own input size otherwise; a dict {model: size} gives
                   each model its own (models it leaves out keep theirs)
  subset_per_class optional; keep at most this many images per class per split (quick demos)
  num_samples      default number of trials
  max_passes       a trial's budget: passes over the training split (an epoch of 1x data; the
                   baseline trains this many of its own epochs, offline copies and all);
                   `max_epochs`, its name before 2026-12-05, is read the same
  grace_period     optional; passes every trial trains before the scheduler first judges it
                   (default 1)
  params           {name: optuna distribution} - what the search varies
  conditions       {name: (parent, [values])} - search `name` only when `parent` takes one of them
  fixed            {name: value} - settings every trial gets, not searched; the baseline keeps
                   its own value of any it sets
  baseline         the seed report's hand-tuned config: always trial 0, the one to beat
"""

import importlib
import importlib.util
import itertools
import pkgutil
from pathlib import Path
from types import ModuleType

from optuna.distributions import BaseDistribution, CategoricalDistribution

from models import INPUTS

REQUIRED = ("dataset", "model", "num_samples", "max_passes", "params", "baseline")


class SpaceError(Exception):
    """A space that is not known, or whose contents cannot be searched."""


def models(space) -> list[str]:
    """Every model the space's trials may build: its own first, then any other that `params` can
    choose."""
    searched = getattr(space.params.get("model"), "choices", ())
    return [space.model] + [name for name in searched if name != space.model]


def image_size(space, model: str) -> int:
    size = getattr(space, "image_size", None)
    if isinstance(size, dict):
        size = size.get(model)
    return size or INPUTS[model][0]


def grace_period(space, budget: int) -> int:
    """The first rung, in passes, never past the budget (a search run with --max-passes 1 is judged
    after it)."""
    return min(getattr(space, "grace_period", 1), budget)


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def is_file(name: str) -> bool:
    """`--space path/to/my_space.py` names a file, `--space cnn_dataset1` a space here."""
    return name.endswith(".py") or "/" in name


def load(name: str) -> ModuleType:
    """A space of this package by name, or a space file of the same form by its path; checked
    (`check`) either way."""
    if is_file(name):
        return check(load_file(Path(name)), f"--space {name}")
    if name not in names():
        raise SpaceError(
            f"unknown search space {name!r}; known spaces: {', '.join(names())} (or a .py file "
            f"of the same form: --space path/to/my_space.py)"
        )
    space = importlib.import_module(f"{__name__}.{name}")
    return check(space, f"search space {name!r} ({space.__file__})")


def load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise SpaceError(f"--space {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"space_{path.stem}", path)
    space = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(space)
    except Exception as error:  # its own code: a syntax error, a bad import, ...
        raise SpaceError(f"--space {path}: {type(error).__name__}: {error}") from None
    return space


def check(space: ModuleType, where: str) -> ModuleType:
    """One line for what a search would otherwise trip over later, or silently get wrong."""
    if hasattr(space, "max_epochs") and not hasattr(space, "max_passes"):
        space.max_passes = space.max_epochs  # its name in space files before 2026-12-05
    missing = [key for key in REQUIRED if not hasattr(space, key)]
    if missing:
        raise SpaceError(f"{where} lacks {', '.join(missing)}")
    for problem in itertools.chain(setting_problems(space), param_problems(space)):
        raise SpaceError(f"{where}: {problem}")
    return space


def setting_problems(space: ModuleType):
    for name in ("num_samples", "max_passes", "grace_period"):
        value = getattr(space, name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            yield f"{name} = {value!r}; it must be a whole number >= 1"
    for model in models(space):
        if model not in INPUTS:
            yield f"unknown model {model!r}; known: {', '.join(INPUTS)}"


def param_problems(space: ModuleType):
    for name, distribution in space.params.items():
        if not isinstance(distribution, BaseDistribution):
            yield (
                f"params[{name!r}] is {distribution!r}, not an Optuna distribution "
                f"(FloatDistribution, IntDistribution, CategoricalDistribution)"
            )
    for name, (parent, _) in getattr(space, "conditions", {}).items():
        for needed in (name, parent):
            if needed not in space.params:
                yield f"the condition on {name!r} names {needed!r}, which params lacks"
    for name, value in space.baseline.items():
        distribution = space.params.get(name)
        if distribution is not None and not within(distribution, value):
            yield f"the baseline's {name} = {value!r} is outside the space ({distribution})"


def within(distribution: BaseDistribution, value) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    low, high = distribution.low, distribution.high
    return isinstance(value, int | float) and low <= value <= high
