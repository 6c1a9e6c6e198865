"""Bad input: one line naming the flag, file or folder and what to do; exit 2; no traceback;
no experiment folder left behind."""

import pytest
from conftest import copy_photos, real_photos, run_cli, run_in_process

from tune.run import main


def run_main(capsys, *argv):
    code, _, err = run_in_process(capsys, main, *argv)
    return code, err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--space", "nope"], "unknown search space 'nope'; known spaces: cnn_dataset1"),
        (["--space", "smoke", "--num-samples", "0"], "--num-samples: must be at least 1"),
        (["--space", "smoke", "--max-passes", "-3"], "--max-passes/--max-epochs: must be at least"),
        (["--space", "smoke", "--max-epochs", "-3"], "--max-passes/--max-epochs: must be at least"),
        (["--space", "smoke", "--max-epochs", "two"], "expected a whole number, got 'two'"),
        (["--space", "smoke", "--cpus-per-trial", "0"], "--cpus-per-trial: must be at least 1"),
        (
            ["--space", "smoke", "--data-root", "/nonexistent"],
            "data root /nonexistent does not exist",
        ),
        (
            ["--space", "smoke", "--data-root", "/etc/hostname"],
            "data root /etc/hostname is a file, not a folder",
        ),
        (
            ["--space", "smoke", "--weights-file", "/nonexistent.pth"],
            "--weights-file /nonexistent.pth does not exist",
        ),
        (
            ["--space", "pretrained_dataset1", "--weights-file", "/etc/hostname"],
            "--weights-file /etc/hostname: say which model it is for",
        ),
        (["--space", "smoke", "--log-every", "0"], "--log-every: must be more than 0 seconds"),
        ([], "--space is required"),
        (["--space", "smoke", "--name", "../escape"], "--name '../escape': use letters"),
    ],
)
def test_bad_flags_are_one_line_errors(capsys, tmp_path, argv, message):
    code, err = run_main(capsys, *argv, "--results-dir", str(tmp_path / "results"))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_batch_size_larger_than_the_training_split(capsys, tmp_path):
    for label in ("smoking", "notsmoking"):
        copy_photos(real_photos(label, 6), tmp_path / "root" / "smoker_detection" / "train")
        copy_photos(real_photos(label, 2), tmp_path / "root" / "smoker_detection" / "val")
    code, err = run_main(
        capsys,
        "--space",
        "smoke",
        "--data-root",
        str(tmp_path / "root"),
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert code == 2 and "batch size 16 but the training split has only" in err
    assert not (tmp_path / "results").exists()


def test_one_class_data_set(capsys, tmp_path):
    copy_photos(real_photos("smoking", 30), tmp_path / "root" / "smoker_detection" / "smoking")
    code, err = run_main(
        capsys,
        "--space",
        "smoke",
        "--data-root",
        str(tmp_path / "root"),
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert code == 2 and "no 'not smoking' images" in err


def test_existing_experiment_is_not_overwritten(capsys, tmp_path):
    (tmp_path / "results" / "taken").mkdir(parents=True)
    code, err = run_main(
        capsys, "--space", "smoke", "--name", "taken", "--results-dir", str(tmp_path / "results")
    )
    assert code == 2 and "already exists" in err


def test_resnet18_space_without_weights_says_how_to_get_them(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code, err = run_main(
        capsys, "--space", "resnet18_dataset1", "--results-dir", str(tmp_path / "results")
    )
    assert code == 2 and "resnet18-f37072fd.pth" in err and "--weights-file" in err


def test_a_real_process_prints_no_traceback(tmp_path):
    done = run_cli(
        "tune.run",
        "--space",
        "cnn_dataset1",
        "--data-root",
        "/nonexistent",
        "--results-dir",
        str(tmp_path),
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip().splitlines() == [done.stderr.strip()] and "Traceback" not in done.stderr
    )
    assert "/nonexistent" in done.stderr and "doi:10.17632" in done.stderr


def test_list_spaces(capsys):
    assert main(["--list-spaces"]) == 0
    out = capsys.readouterr().out
    for name in ("cnn_dataset1", "resnet18_dataset1", "smoke"):
        assert name in out
