"""The errors a command turns into one line (tune/cli.py `run_main`). Library code raises them;
this module imports nothing, so raising one never pulls in the command line."""


class UsageError(Exception):
    """Something the user can fix; printed as one line, no traceback, exit code 2."""


class WriteFailed(Exception):
    """A write failed (a full disk, ...) and the command stopped cleanly; printed as one line
    that says where and what to do, exit code 1, no traceback."""
