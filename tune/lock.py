"""One driver per experiment: `tune.run` holds `driver.lock` in the experiment folder while it
runs, so that a second `tune.run` or `--resume` on the same experiment is refused instead of
mixing two drivers' trials. Readers (`tune.trials`, `tune.report`, `tune.dashboard`) never take it.

The lock is JSON (pid, host, since), written whole aside and linked into place, so nobody reads
a half-written one. A lock whose driver died (a crash, kill -9) is stale and taken over: on the
same host when its pid is gone (or is another process by now: another start time, or the
machine rebooted); from another host (a shared results folder) when its holder has not touched
it for STALE_AFTER_S, which a live driver does every REFRESH_S.
"""

import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Self

from tune.errors import UsageError, results_dir_flag

LOCK_FILE = "driver.lock"
REFRESH_S = 60  # a live driver touches its lock this often ...
STALE_AFTER_S = 15 * 60  # ... so one untouched this long, from another host, is a dead driver's


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """A process's state and start time (clock ticks after boot), from /proc; None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def read(folder: Path) -> dict | None:
    """The lock in `folder`, with `age_s` (seconds since its holder last touched it), or None."""
    path = Path(folder) / LOCK_FILE
    try:
        text, age = path.read_text(), time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:  # not ours to read: judged by its age, as another host's
        holder = {"pid": "?", "host": "?", "since": "?"}
    return {**holder, "age_s": age}


def is_live(holder: dict) -> bool:
    """Whether the driver that wrote this lock still runs."""
    if holder.get("host") != socket.gethostname() or not str(holder.get("pid")).isdigit():
        return holder["age_s"] < STALE_AFTER_S
    if holder.get("boot_id") and _boot_id() and holder["boot_id"] != _boot_id():
        return False  # written before this machine rebooted
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False  # no such process: it died
    except PermissionError:
        pass  # alive, someone else's
    stat = _proc_stat(int(holder["pid"]))
    if stat is None:
        return True
    state, started = stat
    # a zombie is dead; another start time: the pid was reused by another process
    return state != "Z" and holder.get("proc_start") in (None, started)


def describe(holder: dict, folder: Path) -> str:
    return (
        f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}; "
        f"lock {Path(folder) / LOCK_FILE}"
    )


def live_holder(folder: Path) -> dict | None:
    """The lock in `folder` if its driver still runs, else None (no lock, or a stale one)."""
    holder = read(folder)
    return holder if holder and is_live(holder) else None


def running(holder: dict, folder: Path, name: str) -> UsageError:
    results = Path(folder).parent
    where = results_dir_flag(results)
    return UsageError(
        f"experiment {name} is running ({describe(holder, folder)}): wait for it "
        f"to end; watch it with python -m tune.trials {name}{where}"
    )


def refuse_if_running(folder: Path, name: str) -> None:
    """One line, before anything is touched, when a live driver holds the experiment."""
    holder = live_holder(folder)
    if holder:
        raise running(holder, folder, name)


class Lock:
    """A lock this process holds; as a context manager, released however the block ends."""

    def __init__(self, folder: Path, name: str):
        self.path, self.name = Path(folder) / LOCK_FILE, name
        pid = os.getpid()
        self.content = {
            "pid": pid,
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "proc_start": (_proc_stat(pid) or (None, None))[1],
            "boot_id": _boot_id(),
            "command": " ".join(sys.argv),
            "token": uuid.uuid4().hex,
        }
        self._stop = threading.Event()

    def take(self) -> Self:
        """Link a whole lock file into place (atomic: of two racing drivers, one wins); a stale
        one is moved aside first."""
        spare = self.path.with_name(f".{LOCK_FILE}.{os.getpid()}.tmp")
        spare.write_text(json.dumps(self.content, indent=2) + "\n")
        try:
            for _ in range(5):
                try:
                    os.link(spare, self.path)
                    break
                except FileExistsError:
                    holder = read(self.path.parent)
                if holder is None:
                    continue  # released this instant
                if is_live(holder):
                    raise running(holder, self.path.parent, self.name)
                if self._move_aside(holder):
                    print(
                        f"Taking over the lock of a driver that is gone "
                        f"({describe(holder, self.path.parent)})"
                    )
            else:
                raise UsageError(f"could not take {self.path}: other drivers keep taking it")
        finally:
            spare.unlink(missing_ok=True)
        threading.Thread(target=self._refresh, daemon=True, name="driver-lock").start()
        return self

    def _move_aside(self, stale: dict) -> bool:
        """Remove the stale lock that was judged, and only it: another driver may have taken
        it over meanwhile."""
        aside = self.path.with_name(f".{LOCK_FILE}.stale.{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False  # another driver moved it first
        try:
            moved = json.loads(aside.read_text())
        except ValueError:
            moved = {}
        if moved.get("token") != stale.get("token"):  # a new driver's lock: put it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        aside.unlink()
        return moved.get("token") == stale.get("token")

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_S):
            try:
                os.utime(self.path)
            except OSError:
                pass  # its folder is being renamed this instant; the next touch finds it

    def moved_to(self, folder: Path) -> Self:
        """The folder holding the lock was renamed (a new experiment's, from its staging name)."""
        self.path = Path(folder) / LOCK_FILE
        return self

    def release(self) -> None:
        """Remove the lock if it is still this driver's."""
        self._stop.set()
        try:
            if json.loads(self.path.read_text()).get("token") == self.content["token"]:
                self.path.unlink()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_) -> None:
        self.release()


def take(folder: Path, name: str) -> Lock:
    """Hold the experiment in `folder` for this driver, or refuse in one line if one runs."""
    return Lock(folder, name).take()
