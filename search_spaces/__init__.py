"""Named search spaces: one small module each, plain data a user can copy and edit.

A space module defines:
  dataset          folder name under the data root
  model            a name from models.INPUTS
  image_size       optional; the model's default otherwise
  subset_per_class optional; keep at most this many images per class per split (quick demos)
  num_samples      default number of trials
  max_epochs       most epochs a trial may train (ASHA's max_t)
  params           {name: optuna distribution} - what the search varies
  conditions       {name: (parent, [values])} - search `name` only when `parent` takes one of them
  fixed            {name: value} - settings every trial gets, not searched
  baseline         the seed report's hand-tuned config: always trial 0, the one to beat
"""
import importlib
import pkgutil
from types import ModuleType

REQUIRED = ("dataset", "model", "num_samples", "max_epochs", "params", "baseline")


class UnknownSpaceError(Exception):
    pass


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> ModuleType:
    if name not in names():
        raise UnknownSpaceError(f"unknown search space {name!r}; known spaces: {', '.join(names())}")
    space = importlib.import_module(f"{__name__}.{name}")
    missing = [key for key in REQUIRED if not hasattr(space, key)]
    if missing:
        raise UnknownSpaceError(f"search space {name!r} ({space.__file__}) lacks {', '.join(missing)}")
    return space
