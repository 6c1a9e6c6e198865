"""Watch a search in a browser: `python -m tune.dashboard EXP` serves the experiment's Optuna
study (results/EXP/optuna.journal) with optuna-dashboard, live while the search runs and after it.

The server listens on 127.0.0.1 only: optuna-dashboard can also change a study (tell trials, write
notes), so it must never be reachable from the network. `--all` serves every experiment under
results/, one port each (optuna-dashboard shows one storage, and each experiment keeps its own).
"""

import errno
import signal
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from tune import experiment, study
from tune.cli import ArgumentParser, int_at_least, run_main
from tune.errors import UsageError

HOST = "127.0.0.1"


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.dashboard",
        description="Serve an experiment's Optuna study with optuna-dashboard on 127.0.0.1.",
    )
    p.add_argument("experiment", nargs="?", help="experiment name (a folder of --results-dir)")
    p.add_argument(
        "--all",
        action="store_true",
        help="every experiment with a study, one port each from --port on",
    )
    p.add_argument(
        "--port", type=int_at_least(1), default=8080, help="port on 127.0.0.1 (default 8080)"
    )
    p.add_argument(
        "--results-dir", default="results", help="where the experiments are (default: results/)"
    )
    args = p.parse_args(argv)
    if bool(args.experiment) == args.all:
        p.error("give one experiment name, or --all")
    return args


def with_study(exp_dir: Path) -> Path:
    if not study.study_file(exp_dir).is_file():
        raise UsageError(
            f"experiment {exp_dir.name} has no Optuna study ({study.study_file(exp_dir)}): it was "
            f"made before searches kept one, or Ray had not started it yet"
        )
    return exp_dir


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no line per request: the page polls every few seconds
        pass


def serve(exp_dir: Path, port: int):
    from optuna_dashboard import wsgi

    try:
        return make_server(HOST, port, wsgi(study.storage(exp_dir)), handler_class=QuietHandler)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {HOST} is busy: pick another with --port") from None
        raise


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.all:
        exp_dirs = sorted(
            p.parent
            for p in Path(args.results_dir).glob("*/experiment.json")
            if study.study_file(p.parent).is_file()
        )
        if not exp_dirs:
            raise UsageError(f"no experiment in {args.results_dir}/ has an Optuna study yet")
    else:
        exp_dirs = [with_study(experiment.find(args.results_dir, args.experiment))]
    # Ctrl-C (and SIGTERM) stop it cleanly even where the parent started it with SIGINT ignored,
    # as background jobs and test runners do (Python then installs no KeyboardInterrupt of its own).
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.default_int_handler)
    servers = [serve(exp_dir, args.port + offset) for offset, exp_dir in enumerate(exp_dirs)]
    for exp_dir, server in zip(exp_dirs, servers, strict=True):
        print(f"{exp_dir.name}: http://{HOST}:{server.server_port}/dashboard/", flush=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        print("Ctrl-C stops the dashboard.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Dashboard stopped.")
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    run_main(main)
