"""tune.promote's command line: what is promoted and how it is chosen and checked."""

import torch

from tune.cli import ArgumentParser, int_at_least


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.promote", description="Final test of an experiment's best model."
    )
    p.add_argument("experiment", help="experiment name (a folder of --results-dir)")
    p.add_argument("--results-dir", default="results")
    add_choice_flags(p)
    add_check_flags(p)
    args = p.parse_args(argv)
    if args.seeds is not None and args.top_k == 1:
        p.error("--seeds applies only with --top-k 2 or more: with --top-k 1 nothing is retrained")
    if args.ensemble and args.top_k > 1:
        p.error("--ensemble and --top-k choose in different ways: use one of them")
    args.seeds = args.seeds or 3
    return args


def add_choice_flags(p) -> None:
    """What is promoted: the best trial, retrained configs, an ensemble, flip TTA."""
    p.add_argument(
        "--top-k",
        type=int_at_least(1),
        default=1,
        help=(
            "retrain the K best configs from scratch and pick by mean validation score (default "
            "1: no retraining)"
        ),
    )
    p.add_argument(
        "--seeds", type=int_at_least(1), help="seeds per config when --top-k > 1 (default 3)"
    )
    p.add_argument(
        "--ensemble",
        type=int_at_least(2),
        metavar="K",
        help=(
            "also try the average of the top 2, 3, ... K trials' best checkpoints; validation "
            "decides what is promoted"
        ),
    )
    p.add_argument(
        "--tta",
        action="store_true",
        help=(
            "also try averaging each prediction with the prediction on the mirrored photo "
            "(validation decides)"
        ),
    )


def add_check_flags(p) -> None:
    """How it is chosen and checked, and on how many threads."""
    p.add_argument(
        "--no-cv",
        dest="cv",
        action="store_false",
        help=(
            "choose by validation alone, not by 5-fold cross-validation over train + val (which "
            "retrains the promoted trials per fold where they train on cached activations)"
        ),
    )
    p.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help=(
            "skip the probe (a logistic regression on frozen EfficientNet-Lite features, refitted "
            "on train + val) that a pretrained search is compared with and may be combined with"
        ),
    )
    p.add_argument(
        "--refit",
        action="store_true",
        help=(
            "retrain the promoted trials' configs on train + val (as many passes as their best "
            "checkpoint) before the test; costs one more training run per member"
        ),
    )
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="promote a search that is still running or was interrupted (recorded in "
        "test_scores.json and summary.md); the test split is meant to be read "
        "once, at the end",
    )
    p.add_argument(
        "--threads",
        type=int_at_least(1),
        default=torch.get_num_threads(),
        help="torch threads for retraining",
    )
