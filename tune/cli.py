"""What every command shares: one-line errors (exit code 2 for bad input, 1 for a failed write:
a full disk), quiet in a pipe that closes early, and argparse value types."""

import argparse
import os
import sys
from pathlib import Path

from tune.disk import failed_write, free_space, megabytes
from tune.errors import UsageError, WriteFailed


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def int_at_least(minimum: int):
    """An argparse type: a whole number >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def positive(unit: str):
    """An argparse type: a positive number of `unit` (minutes, seconds)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {unit}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0 {unit}, got {text}")
        return value

    return parse


FIXABLE = {  # module -> the errors of it a user can fix
    "data_utils": ("DataError",),
    "search_spaces": ("SpaceError",),
    "models": ("MissingPackageError", "MissingWeightsError"),
}


def fixable_errors() -> tuple:
    """The errors a user can fix, each module's only if it was imported: models and search_spaces
    import torch, which tune.trials does without, and a module never imported raised nothing."""
    found = [UsageError]
    for module, names in FIXABLE.items():
        if module in sys.modules:
            found += [getattr(sys.modules[module], name) for name in names]
    return tuple(found)


def run_main(main, argv=None) -> None:
    """Run a command's main; the errors a user can fix become one line and exit code 2."""
    try:
        sys.exit(main(argv))
    except BrokenPipeError:  # `python -m tune.trials EXP | head`: the reader has all it wanted
        # Python flushes stdout again at exit: send that flush nowhere (the Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except WriteFailed as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        if isinstance(error, fixable_errors()):
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        failed = failed_write(error)  # any command's write that failed (a full disk): one line
        if failed is None:
            raise
        where = Path(failed.path).parent if failed.path else Path.cwd()
        print(
            f"error: could not write {failed.path or 'a file'} ({failed.reason}; "
            f"{megabytes(free_space(where))} free in {where}): free space and run it again",
            file=sys.stderr,
        )
        sys.exit(1)
