"""Named search spaces: one small module each, plain data a user can copy and edit.

A space module defines:
  dataset          folder name under the data root
  model            a name from models.INPUTS: the baseline's, and every trial's unless `params`
                   searches `model` too (a Choice of names; each trial then builds the one it drew)
  image_size       optional; each model's own input size otherwise; a dict {model: size} gives
                   each model its own (models it leaves out keep theirs)
  subset_per_class optional; keep at most this many images per class per split (quick demos)
  num_samples      default number of trials
  max_epochs       a trial's budget: passes over the training split (an epoch of 1x data; the
                   baseline trains this many of its own epochs, offline copies and all)
  grace_period     optional; passes every trial trains before the scheduler first judges it
                   (default 1)
  params           {name: optuna distribution} - what the search varies
  conditions       {name: (parent, [values])} - search `name` only when `parent` takes one of them
  fixed            {name: value} - settings every trial gets, not searched
  baseline         the seed report's hand-tuned config: always trial 0, the one to beat
"""

import importlib
import pkgutil
from types import ModuleType

from models import INPUTS

REQUIRED = ("dataset", "model", "num_samples", "max_epochs", "params", "baseline")


class UnknownSpaceError(Exception):
    pass


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


def grace_period(space, max_epochs: int) -> int:
    """The first rung, in passes, never past the budget (a search run with --max-epochs 1 is judged
    after it)."""
    return min(getattr(space, "grace_period", 1), max_epochs)


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> ModuleType:
    if name not in names():
        raise UnknownSpaceError(
            f"unknown search space {name!r}; known spaces: {', '.join(names())}"
        )
    space = importlib.import_module(f"{__name__}.{name}")
    missing = [key for key in REQUIRED if not hasattr(space, key)]
    if missing:
        raise UnknownSpaceError(
            f"search space {name!r} ({space.__file__}) lacks {', '.join(missing)}"
        )
    return space
