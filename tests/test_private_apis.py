"""Every private name of Ray or Optuna the project relies on (tune/engine/private.py, each with
why), checked against the installed versions: generated from that module, so it cannot miss
one, and fails by name, in a second, when an upgrade of the pinned versions (pyproject.toml)
moves or reshapes one. And no module outside it reaches for another."""

import ast
import functools
import importlib
import inspect
import re
from pathlib import Path

import optuna
import pytest
import ray
from ray.train._internal import storage
from ray.tune.execution.tune_controller import TuneController

from tune.engine import private

REPO = Path(__file__).resolve().parent.parent
# the product, and the benchmark that keeps a subclass of Ray's ASHA
SOURCES = {
    path: ast.parse(path.read_text())
    for path in [*sorted((REPO / "tune").rglob("*.py")), REPO / "benchmarks" / "old_asha.py"]
}


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


@functools.cache
def ray_and_optuna_sources() -> list[str]:
    """Read once for every name checked."""
    return [
        path.read_text(errors="ignore")
        for package in (ray, optuna)
        for path in Path(package.__file__).parent.rglob("*.py")
    ]


def defined_in_ray_or_optuna(name: str) -> bool:
    pattern = re.compile(rf"(def {name}\b|class {name}\b|\b{name} = |self\.{name}\b)")
    return any(pattern.search(text) for text in ray_and_optuna_sources())


REACHED = sorted(
    {
        node.attr
        for node in ast.walk(SOURCES[REPO / "tune" / "engine" / "private.py"])
        if isinstance(node, ast.Attribute) and node.attr.startswith("_")
    }
)


@pytest.mark.parametrize("name", REACHED)
def test_every_private_name_the_module_reaches_is_in_the_installed_ray_or_optuna(name):
    assert defined_in_ray_or_optuna(name), name


@pytest.mark.parametrize("module, owner, name, why", private.INHERITED)
def test_every_inherited_private_attribute_is_still_the_base_classs(module, owner, name, why):
    cls = getattr(importlib.import_module(module), owner)
    assert hasattr(cls, name) or any(
        f"self.{name}" in inspect.getsource(base)
        for base in cls.__mro__
        if base.__module__.split(".")[0] in ("ray", "optuna")
    ), why


def test_the_signatures_our_replacements_and_calls_rely_on():
    # tune/engine/write_guard.py replaces the syncer's upload with one that writes whole files
    assert parameters(storage._FilesystemSyncer._sync_up_command) == [
        "self",
        "local_path",
        "uri",
        "exclude",
    ]
    assert parameters(storage._upload_to_fs_path)[:3] == ["local_path", "fs", "fs_path"]
    assert parameters(storage.get_fs_and_path)[0] == "storage_path"
    assert parameters(TuneController._mark_trial_to_checkpoint) == ["self", "trial"]
    assert parameters(optuna.storages.BaseStorage.set_trial_user_attr) == [
        "self",
        "trial_id",
        "key",
        "value",
    ]


def test_no_module_but_the_private_one_reaches_a_private_name_of_another_object():
    reached = []
    for path, tree in SOURCES.items():
        if path.name == "private.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and "._internal" in (node.module or ""):
                reached.append(f"{path.name}: from {node.module}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and not (isinstance(node.value, ast.Call) and ast.unparse(node.value) == "super()")
            ):
                reached.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert reached == []


def test_every_private_attribute_our_subclasses_use_of_their_base_is_listed():
    """self._x in a class of ours that subclasses Ray's or Optuna's, where x is the base's."""
    listed = {name for _, _, name, _ in private.INHERITED}
    unlisted = []
    for path in SOURCES:
        module = importlib.import_module(
            ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        )
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            bases = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] in ("ray", "optuna")]
            if not bases:
                continue
            theirs = "\n".join(inspect.getsource(b) for b in bases)
            for name in set(re.findall(r"self\.(_[a-z]\w*)", inspect.getsource(cls))):
                if (f"self.{name}" in theirs or f"def {name}(" in theirs) and name not in listed:
                    unlisted.append(f"{cls.__name__}.{name}")
    assert unlisted == []
