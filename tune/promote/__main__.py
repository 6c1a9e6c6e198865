from tune.cli import run_main
from tune.promote.command import main

run_main(main)
