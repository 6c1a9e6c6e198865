"""A space of one's own, without editing the package: `--space path/to/my_space.py`, checked
when it is read, and copied into the experiment so that it lives on without the original."""

import signal
import subprocess
import time

import pandas as pd
import pytest
from conftest import run_cli, start_cli
from test_resume import finished_trials

SPACE = '''"""My own: the report's CNN on a few photos, two parameters."""
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution as Float

dataset = "smoker_detection"
model = "seed_cnn"
image_size = 64
subset_per_class = 24
num_samples = 3
max_epochs = 2  # the budget's name before 2026-12-05, still read (as max_passes)
params = {"lr": Float(1e-4, 1e-2, log=True), "batch_size": Choice([8, 16])}
fixed = {"offline_rotations": False}
baseline = {"lr": 1e-3, "batch_size": 8}
'''


def test_a_space_file_outside_the_repository_outlives_its_file(tmp_path):
    own = tmp_path / "elsewhere" / "my_space.py"
    own.parent.mkdir()
    own.write_text(SPACE)
    results = tmp_path / "results"
    driver = start_cli(
        *("tune.run", "--space", str(own), "--name", "own"),
        *("--max-concurrent", "1", "--results-dir", str(results)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 300
    while not finished_trials(results / "own" / "ray"):
        assert driver.poll() is None and time.time() < deadline
        time.sleep(0.2)
    driver.send_signal(signal.SIGINT)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 130, output[-3000:]
    exp_dir = results / "own"
    assert (exp_dir / "space.py").read_text() == SPACE  # the copy, as the search read it
    own.unlink()  # the original is gone: what remains is the experiment's copy
    for command in (
        ("tune.run", "--resume", "--name", "own"),
        ("tune.promote", "own"),
        ("tune.report", "own"),
    ):
        done = run_cli(*command, "--results-dir", str(results))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = pd.read_csv(exp_dir / "trials.csv")
    assert len(table) == 3 and set(table.status) <= {"COMPLETED", "STOPPED"}
    assert set(table.columns) >= {"param_lr", "param_batch_size"}
    assert (exp_dir / "report.md").is_file() and (exp_dir / "model.pt").is_file()


def test_a_space_file_names_its_budget_max_passes_or_as_before_max_epochs(tmp_path):
    import search_spaces

    own = tmp_path / "my_space.py"
    own.write_text(SPACE)
    assert search_spaces.load(str(own)).max_passes == 2
    own.write_text(SPACE.replace("max_epochs = 2", "max_passes = 4"))
    assert search_spaces.load(str(own)).max_passes == 4
    own.write_text(SPACE.replace("max_epochs = 2", "max_passes = 0"))
    with pytest.raises(search_spaces.SpaceError, match="max_passes = 0; it must be a whole"):
        search_spaces.load(str(own))


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ('params = {"lr"', 'params = {"lr": [1e-4, 1e-2], "x"'),
            "params['lr'] is [0.0001, 0.01], not an Optuna distribution",
        ),
        (
            ("fixed = {", 'conditions = {"lr": ("momentum", [True])}\nfixed = {'),
            "the condition on 'lr' names 'momentum', which params lacks",
        ),
        (
            ('"batch_size": 8}', '"batch_size": 32}'),
            "the baseline's batch_size = 32 is outside the space",
        ),
        (("image_size = 64", "image_size = 64 +"), "SyntaxError"),
        (('model = "seed_cnn"', 'model = "vgg99"'), "unknown model 'vgg99'"),
        # a first rung at 0 passes made the scheduler loop forever, the experiment written
        (("image_size = 64", "image_size = 64\ngrace_period = 0"), "grace_period = 0"),
    ],
    ids=[
        "not-a-distribution",
        "condition-on-nothing",
        "baseline-outside",
        "syntax",
        "model",
        "grace-period-0",
    ],
)
def test_a_space_file_with_an_error_is_one_line(tmp_path, change, message):
    own = tmp_path / "bad_space.py"
    own.write_text(SPACE.replace(*change))
    done = run_cli("tune.run", "--space", str(own), "--results-dir", str(tmp_path / "results"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"--space {own}" in done.stderr and message in done.stderr, done.stderr
    assert not (tmp_path / "results").exists()
