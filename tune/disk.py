"""A full disk (or another failed write) during a search: refused before it starts when it
clearly cannot fit; stopped in one line, resumable, when a write fails while it runs.

- Before a search: `space_needed` (what it will write, at least) against the free space of the
  results folder's filesystem (`refuse_if_it_cannot_fit`).
- While it runs: tune/engine/write_guard.py keeps Ray's experiment state whole and ends the search
  at the first failed write; `failed_write` tells a failed write from any other error.
- After: the driver (tune/run.py) writes what it can of the results, each file whole or not at
  all (tune/results.py), and ends with one line (`failure_line`), exit 1 (tune/cli.py).
No Ray here: tune/run.py imports this before Ray is set up.
"""

import errno
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tune.errors import UsageError, results_dir_flag

MIB = 2**20
MARGIN = 16 * MIB  # Ray's state and logs, the Optuna study, the manifest: a few MB, rounded up
# errors that mean "this write failed" (not "this read failed" or "no connection")
WRITE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EIO,
    errno.EACCES,
    errno.EPERM,
}
FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}  # unmistakable in a text
# torch.save's RuntimeError on a full disk
FULL_WORDS = re.compile(
    r"no space left on device|disk quota exceeded|database or disk is full|"
    r"read-only file system|file too large|disk i/o error|"
    r"failed writing file",
    re.I,
)
ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.I)  # pyarrow's OSError: "[errno 28] ..."


def space_needed(images: int, features: int, checkpoint: int, num_samples: int) -> int:
    """Bytes a search writes into its folder, at least: the decoded images and the feature
    caches (sizes known before it starts), one checkpoint per trial (model + Adam's two moments:
    3x its fp32 parameters; Ray keeps two per trial while it runs and one after it ends), and
    MARGIN. A lower bound on purpose: a search is refused only when it clearly cannot fit."""
    return images + features + num_samples * checkpoint + MARGIN


def megabytes(size: float) -> str:
    return f"{size / MIB:.0f} MB" if size >= 10 * MIB else f"{size / MIB:.1f} MB"


def existing(folder: Path) -> Path:
    """The folder, or the nearest folder above it that exists (a results folder not made yet)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def free_space(folder: Path) -> int:
    return shutil.disk_usage(existing(folder)).free


def refuse_if_it_cannot_fit(folders: dict[Path, int], what: str) -> None:
    """folders: {folder: bytes the search writes there}. One line (exit 2, nothing written)
    when a filesystem has less free space than the folders on it need."""
    needs: dict[int, list] = {}  # filesystem -> [first folder named, bytes]
    for folder, size in folders.items():
        device = os.stat(existing(folder)).st_dev
        needs.setdefault(device, [folder, 0])[1] += size
    for folder, size in needs.values():
        free = free_space(folder)
        if free < size:
            raise UsageError(
                f"not enough space for this search in {folder}: {megabytes(free)} "
                f"free, it needs about {megabytes(size)} ({what}); free space there "
                f"or choose another --results-dir"
            )


@dataclass
class WriteFailure:
    reason: str  # "No space left on device", ...
    path: str | None = None  # what could not be written, where known


def _chain(error: BaseException):
    """The error and what caused it (Ray wraps a trial's error; Optuna wraps SQLite's)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        cause = getattr(error, "cause", None)  # RayTaskError's: the trial's own error
        error = (
            error.__cause__
            or (cause if isinstance(cause, BaseException) else None)
            or error.__context__
        )


def full_in_text(text: str) -> str | None:
    """The reason, where a text (an error's message, a trial's error.txt) says a disk is full."""
    words = FULL_WORDS.search(text)
    if words:
        return words.group(0)[0].upper() + words.group(0)[1:]
    number = ERRNO_IN_TEXT.search(text)
    if number and int(number.group(1)) in FULL_ERRNOS:
        return os.strerror(int(number.group(1)))
    return None


def failed_write(error: BaseException) -> WriteFailure | None:
    """A WriteFailure when `error` comes from a write that failed (a full disk, a quota, a
    read-only or broken filesystem; Optuna's SQLite commit); None for any other error."""
    for cause in _chain(error):
        said = full_in_text(str(cause))
        if isinstance(cause, OSError) and (cause.errno in WRITE_ERRNOS or said):
            return WriteFailure(said or cause.strerror or str(cause), cause.filename)
        if said:  # sqlite3.OperationalError "database or disk is full", a RayTaskError's text
            return WriteFailure(said)
    return None


# -- after a failed write ------------------------------------------------------------------------
def used_by(folders) -> int:
    total = 0
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
    return total


def failure_line(failure: WriteFailure, exp_dir: Path, ray_path: str, exp) -> str:
    """The one line a search that could not write ends with: where, why, how much space is
    free and needed, and how to continue it."""
    folders = [Path(exp_dir)]
    if "://" not in ray_path and not Path(ray_path).is_relative_to(Path(exp_dir).resolve()):
        folders.append(Path(ray_path))
    folder = folders[0]
    if failure.path and len(folders) > 1 and Path(failure.path).is_relative_to(folders[1]):
        folder = folders[1]
    more = exp.space_needed - used_by(folders)
    needs = f", the search needs about {megabytes(more)} more" if more > MIB else ""
    results = Path(exp_dir).parent
    where = results_dir_flag(results)
    free = megabytes(free_space(folder))
    return (
        f"the search could not write to {folder} ({failure.reason}; {free} free there{needs}): "
        f"finished trials are kept; free space, then continue it with "
        f"python -m tune.run --resume --name {exp.name}{where}"
    )
