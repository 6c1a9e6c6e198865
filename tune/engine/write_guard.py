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

import json
import os
import shutil
import signal
from pathlib import Path

from ray.tune import Callback

from tune.disk import WriteFailure, failed_write, full_in_text
from tune.engine import private
from tune.experiment import local_errors

STATE = "experiment_state-"  # what Ray reads back: tune_controller.TuneController.CKPT_FILE_TMPL


def _same_file(source: Path, target: Path) -> bool:
    try:
        a, b = source.stat(), target.stat()
    except FileNotFoundError:
        return False
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


def _whole_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
        return True
    except ValueError:
        return False


def upload_whole_files(local_path: str, fs, fs_path: str, exclude=None, failures=None) -> None:
    """Ray's upload of the driver's staging folder (trial results, then Ray's state: the
    experiment's, the searcher's) into a local storage folder, each file copied aside and
    renamed over the old one; Ray's state files only once all of them are copied, so that they
    stay consistent with each other. A failure is added to `failures` (the run's WriteGuard's),
    not raised (Ray would log it and carry on). Elsewhere (s3://, ...): Ray's own upload."""
    if fs.type_name != "local" or exclude or not os.path.isdir(local_path):
        return private.upload_to_fs_path(
            local_path=local_path, fs=fs, fs_path=fs_path, exclude=exclude
        )
    top = Path(local_path)
    files = [Path(root, name) for root, _, names in os.walk(top) for name in names]
    held = []  # (copy, target) of Ray's state, renamed together at the end, experiment state last
    for source in sorted(files, key=lambda f: (f.parent == top, f.name.startswith(STATE))):
        target = Path(fs_path, source.relative_to(top))
        if _same_file(source, target):
            continue
        tmp = target.with_name(f".{source.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp)  # keeps the time: an unchanged file is not copied again
            if source.name.startswith(STATE) and not _whole_json(tmp):
                tmp.unlink()  # Ray was rewriting it as it was read: the next copy takes it
                continue
            if source.parent != top:
                os.replace(tmp, target)
            else:
                held.append((tmp, target))
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)  # gone from the staging folder meanwhile
        except OSError as error:
            for copy in [tmp, *(copy for copy, _ in held)]:
                copy.unlink(missing_ok=True)
            failure = failed_write(error) or WriteFailure(str(error), str(target))
            (failures if failures is not None else []).append(failure)
            return
    for tmp, target in held:
        os.replace(tmp, target)


def whole_file_syncs(failures: list | None = None) -> None:
    """This driver's Ray copies its state into local storage through upload_whole_files, and
    the failed copies go to `failures` (the run's). Ray runs the copy in a thread of the driver:
    the list is shared, not pickled. Each run installs its own (Ray's syncer is one per process)."""

    def _sync_up_command(self, local_path: str, uri: str, exclude=None):
        return upload_whole_files, dict(
            local_path=local_path,
            fs=self.storage_filesystem,
            fs_path=uri,
            exclude=exclude,
            failures=failures,
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
