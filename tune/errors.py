"""The errors a command turns into one line (tune/cli.py `run_main`). Library code raises them;
this module imports nothing of the project, so raising one never pulls in the command line."""

from pathlib import Path


class UsageError(Exception):
    """Something the user can fix; printed as one line, no traceback, exit code 2."""


def results_dir_flag(results) -> str:
    """' --results-dir FOLDER' for a command a line suggests, where FOLDER is not the default."""
    return f" --results-dir {results}" if Path(results) != Path("results") else ""


class WriteFailed(Exception):
    """A write failed (a full disk, ...) and the command stopped cleanly; printed as one line
    that says where and what to do, exit code 1, no traceback."""
