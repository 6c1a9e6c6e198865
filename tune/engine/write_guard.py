"""Ray's side of a failed write (tune/disk.py): its experiment state kept whole, and the search
ended at the first failed write.

Ray writes its experiment state (experiment_state-*.json, which `--resume`, `tune.trials` and
the trial table read) into a staging folder of the driver and copies it into the storage folder
over the old file, in place (Ray 2.60, `_FilesystemSyncer`). On a full disk that left a
half-written state: the trial table could not be read (a JSONDecodeError traceback), and
`--resume` could not read it either, so Ray "restarted" the experiment empty and its new state
hid the trials that had finished, the baseline among them. Here each file is copied aside and
renamed over the old one: a copy that fails leaves the last whole state.

Imported only once Ray is set up (tune/engine/cluster.py `start_ray`).
"""

import os
import shutil
import signal
from pathlib import Path

from ray.tune import Callback

from tune.disk import WriteFailure, failed_write, full_in_text
from tune.engine import private
from tune.experiment import local_errors

STATE = "experiment_state-"  # what Ray reads back: tune_controller.TuneController.CKPT_FILE_TMPL


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_size, stat.st_mtime_ns


def _same_file(stamp: tuple[int, int], target: str) -> bool:
    """Whether `target` is already the copy of a source with this stamp (copy2 keeps the time)."""
    try:
        return _stamp(os.stat(target)) == stamp
    except FileNotFoundError:
        return False


def _copy_aside(source: str, target: str) -> str:
    """source copied beside target under a temporary name; that name (to rename over target)."""
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, tmp)  # keeps the time: an unchanged file is not copied again
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _failed(error: OSError, target: str, failures: list | None, held: list) -> None:
    """A copy that failed: the copies of Ray's state made so far removed (the old state stays),
    the failure recorded."""
    for copy, _ in held:
        Path(copy).unlink(missing_ok=True)
    failure = failed_write(error) or WriteFailure(str(error), target)
    (failures if failures is not None else []).append(failure)


def copy_state_aside(local_path: str, fs_path: str, failures: list | None) -> list | None:
    """Ray's state files (the top of its staging folder: the experiment's, the searcher's),
    each copied beside its target, to be renamed over it once the trial files are copied:
    [(copy, target)], the experiment state last. Called in the driver's own thread, as Ray
    launches a copy, right after Ray wrote them: no writer is half-way through one (the copy
    itself runs in a thread, beside Ray's next write). None if a copy failed (recorded)."""
    held = []
    with os.scandir(local_path) as entries:
        files = sorted((e for e in entries if e.is_file()), key=lambda e: e.name.startswith(STATE))
    for entry in files:
        target = os.path.join(fs_path, entry.name)
        try:
            if not _same_file(_stamp(entry.stat()), target):
                held.append((_copy_aside(entry.path, target), target))
        except FileNotFoundError:
            continue  # gone from the staging folder meanwhile
        except OSError as error:
            _failed(error, target, failures, held)
            return None
    return held


def changed_trial_files(local_path: str, copied: dict) -> list[tuple[str, tuple[int, int]]]:
    """(path, stamp) of each file in the trial folders of the staging folder that changed since
    this driver last copied it: one stat a file (at 1,000 trials, ~5,000 files at every copy)."""
    changed, folders = [], [entry.path for entry in os.scandir(local_path) if entry.is_dir()]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
                continue
            try:
                stamp = _stamp(entry.stat())
            except FileNotFoundError:
                continue
            if copied.get(entry.path) != stamp:
                changed.append((entry.path, stamp))
    return changed


def upload_whole_files(
    local_path: str, fs_path: str, held: list | None, copied: dict, failures: list | None = None
) -> None:
    """The trial files that changed, each copied aside and renamed over the old one; then Ray's
    state, copied aside already (copy_state_aside), renamed over the old one, so that it never
    names a trial file storage does not hold yet. On a failure (recorded in `failures`, not
    raised: Ray would log it and carry on) Ray's state is left as it was; `held` None: it failed
    already. Its name stays: Ray pickles the syncer's last command (this function, by name) into
    each trial's saved state, and older experiments name it."""
    if held is None:
        return
    for source, stamp in changed_trial_files(local_path, copied):
        target = os.path.join(fs_path, os.path.relpath(source, local_path))
        try:
            if not _same_file(stamp, target):
                os.replace(_copy_aside(source, target), target)
            copied[source] = stamp
        except FileNotFoundError:
            continue  # gone from the staging folder meanwhile
        except OSError as error:
            _failed(error, target, failures, held)
            return
    for tmp, target in held:
        os.replace(tmp, target)


class CopyRecord(dict):
    """Staging file -> the stamp it had when this run last copied it. Ray pickles the syncer's
    last command, arguments and all, into every trial's saved state: this pickles as empty (a
    restored run copies each file once more, if it changed)."""

    def __reduce__(self):
        return CopyRecord, ()


def whole_file_syncs(failures: list | None = None) -> None:
    """This driver's Ray copies its state into local storage as upload_whole_files does, and
    the failed copies go to `failures` (the run's). Ray runs the copy in a thread of the driver:
    the list is shared, not pickled. Each run installs its own (Ray's syncer is one per process).
    Elsewhere (s3://, ...): Ray's own upload."""
    copied = CopyRecord()

    def _sync_up_command(self, local_path: str, uri: str, exclude=None):
        fs = self.storage_filesystem
        if fs.type_name != "local" or exclude or not os.path.isdir(local_path):
            return private.upload_to_fs_path, dict(
                local_path=local_path, fs=fs, fs_path=uri, exclude=exclude
            )
        held = copy_state_aside(local_path, uri, failures)
        return upload_whole_files, dict(
            local_path=local_path, fs_path=uri, held=held, copied=copied, failures=failures
        )

    private.replace_sync_up(_sync_up_command)


def quiet_trial_errors() -> None:
    """The trials' own errors from the failed write (Ray logs each one that nobody fetched,
    traceback and all, as the driver exits): the driver's one line says it all."""
    os.environ["RAY_IGNORE_UNHANDLED_ERRORS"] = "1"  # read by Ray each time, not at import


class WriteGuard(Callback):
    """Ends the search as Ctrl-C does (Tune saves its state one last time; each trial goes on
    from its last checkpoint on --resume) at the first failed write: a trial that could not
    save its checkpoint, or a copy of Ray's state. Added per run, never saved with the
    experiment."""

    def __init__(self):
        self.failure: WriteFailure | None = None
        self.copy_failures: list[WriteFailure] = []  # of Ray's state, by upload_whole_files

    def _stop(self, failure: WriteFailure) -> None:
        if not self.failure:
            self.failure = failure
            quiet_trial_errors()
            os.kill(os.getpid(), signal.SIGUSR1)  # Tune ends its loop as on Ctrl-C

    def _trial_failed(self, trial) -> None:
        text = local_errors(trial)
        if text is None:
            return
        reason = full_in_text(text.rsplit("Failure # ", 1)[-1])  # its latest failure only
        if reason:
            self._stop(WriteFailure(reason, trial.path))

    def on_trial_recover(self, iteration, trials, trial, **info):
        self._trial_failed(trial)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._trial_failed(trial)

    def on_step_end(self, iteration, trials, **info):
        if self.copy_failures:
            self._stop(self.copy_failures[0])

    def found(self) -> WriteFailure | None:
        return self.failure or (self.copy_failures[0] if self.copy_failures else None)


def guard(tuner) -> WriteGuard:
    """Whole-file state copies and a WriteGuard for this run of `tuner`, new or restored (Ray
    has no public way to add a callback to a restored Tuner: tune/engine/private.py)."""
    found = WriteGuard()
    whole_file_syncs(found.copy_failures)
    private.run_config(tuner).callbacks.append(found)
    return found
