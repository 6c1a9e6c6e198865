"""`python -m tune.dashboard`: the Optuna study of a real search, served by optuna-dashboard on
127.0.0.1 and read in a real headless Chromium (Debian's, which .ci/run installs)."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

import pandas as pd
import pytest
from conftest import REPO, run_in_process

from tune import dashboard

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags this machine needs (its network is closed: no background connections, no sandbox
# as root).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--virtual-time-budget=20000",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_dashboard(*argv):
    """The dashboard as a user starts it; yields (process, {experiment: url}); Ctrl-C at the end."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tune.dashboard", *argv],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    urls, lines = {}, []
    try:
        for line in server.stdout:
            lines.append(line)
            if found := re.match(r"(\S+): (http://\S+)$", line.strip()):
                urls[found[1]] = found[2]
            if line.startswith("Ctrl-C stops"):
                break
        assert urls, "".join(lines)
        yield server, urls
    finally:
        server.send_signal(signal.SIGINT)
        rest, _ = server.communicate(timeout=60)
    assert server.returncode == 0 and "Dashboard stopped." in rest, "".join(lines) + rest


def browser_dom(url: str, tmp_path) -> str:
    assert os.access(CHROMIUM, os.X_OK), (
        "Debian's chromium is needed: `apt-get install chromium` (.ci/run does)"
    )
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def api(url: str, path: str):
    with urllib.request.urlopen(url.split("/dashboard")[0] + path, timeout=30) as response:
        return json.load(response)


def test_a_finished_search_in_a_real_browser_and_in_the_dashboards_api(smoke_search, tmp_path):
    exp_dir, _ = smoke_search
    table = pd.read_csv(exp_dir / "trials.csv").set_index("trial_id")
    with running_dashboard(
        "e2e", "--results-dir", str(exp_dir.parent), "--port", str(free_port())
    ) as (server, urls):
        url = urls["e2e"]
        assert url.startswith("http://127.0.0.1:")
        # The page lists the study, then its trials with their values, as the browser renders them.
        assert "e2e" in browser_dom(url, tmp_path)
        (summary,) = api(url, "/api/studies")["study_summaries"]
        assert summary["study_name"] == "e2e"
        trials = api(url, f"/api/studies/{summary['study_id']}?after=0")["trials"]
        # the trials page, every trial selected
        numbers = ",".join(str(t["number"]) for t in trials)
        page = browser_dom(f"{url}studies/{summary['study_id']}/trials?numbers={numbers}", tmp_path)
        assert len(trials) == 3
        for trial in trials:
            assert f"Trial {trial['number']}" in page
            assert repr(trial["values"][0]) in page  # JavaScript prints a double as Python does
        # Every trial of trials.csv, with the same final value (its last validation loss).
        by_ray_id = {
            next(a["value"] for a in t["user_attrs"] if a["key"] == "ray_trial_id"): t
            for t in trials
        }
        assert sorted(by_ray_id) == sorted(table.index)
        for trial_id, row in table.iterrows():
            assert by_ray_id[trial_id]["values"][0] == pytest.approx(row.last_val_loss)
            assert (
                by_ray_id[trial_id]["state"]
                == {"COMPLETED": "Complete", "STOPPED": "Pruned"}[row.status]
            )
        # Its sockets listen on loopback only.
        listening = [
            line.split()[3]
            for line in subprocess.run(
                ["ss", "-ltnpH"], capture_output=True, text=True
            ).stdout.splitlines()
            if f"pid={server.pid}," in line
        ]
        assert listening and all(
            address.rsplit(":", 1)[0] == "127.0.0.1" for address in listening
        ), listening


def test_all_serves_every_experiment_side_by_side(smoke_search, tmp_path):
    results = tmp_path / "results"
    for name in ("first", "second"):
        shutil.copytree(smoke_search[0], results / name)
    (results / "old").mkdir()  # an experiment made before studies were kept is left out
    (results / "old" / "experiment.json").write_text("{}")
    with running_dashboard("--all", "--results-dir", str(results), "--port", str(free_port())) as (
        _,
        urls,
    ):
        assert sorted(urls) == ["first", "second"] and len(set(urls.values())) == 2
        for url in urls.values():
            assert len(api(url, "/api/studies")["study_summaries"]) == 1


def test_a_missing_experiment_an_old_one_or_a_busy_port_is_one_line(smoke_search, capsys, tmp_path):
    code, _, err = run_in_process(
        capsys, dashboard.main, "nope", "--results-dir", str(smoke_search[0].parent)
    )
    assert (
        code == 2 and "no experiment 'nope'" in err and "e2e" in err and len(err.splitlines()) == 1
    )
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "experiment.json").write_text("{}")
    code, _, err = run_in_process(capsys, dashboard.main, "old", "--results-dir", str(tmp_path))
    assert code == 2 and "has no Optuna study" in err and len(err.splitlines()) == 1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run_in_process(
            capsys,
            dashboard.main,
            "e2e",
            "--results-dir",
            str(smoke_search[0].parent),
            "--port",
            str(port),
        )
    assert code == 2 and f"port {port} on 127.0.0.1 is busy" in err and len(err.splitlines()) == 1
    code, _, err = run_in_process(capsys, dashboard.main)
    assert code == 2 and "give one experiment name, or --all" in err
