"""What every command shares: one-line errors with exit code 2, and argparse value types."""
import argparse
import sys


class UsageError(Exception):
    """Something the user can fix; printed as one line, no traceback."""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def int_at_least(minimum: int):
    """An argparse type: a whole number >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def run_main(main, argv=None) -> None:
    """Run a command's main; the errors a user can fix become one line and exit code 2."""
    from data_utils import DataError
    from models import MissingPackageError, MissingWeightsError
    from search_spaces import UnknownSpaceError
    try:
        sys.exit(main(argv))
    except (UsageError, DataError, MissingPackageError, MissingWeightsError, UnknownSpaceError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
