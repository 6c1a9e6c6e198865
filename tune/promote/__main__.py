"""`python -m tune.promote EXP` (tune/promote/command.py)."""

from tune.cli import run_main
from tune.promote.command import main

if __name__ == "__main__":
    run_main(main)
