"""Promote the search's winner to one honest final test: `python -m tune.promote EXP`.

The test split (carved and recorded in the experiment's manifest before the search began) is
read here for the first time, once for the winner and once for the seed report's baseline, on
the very same images, so the two can be compared with a paired test.
"""

import sys
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from data_utils.images import decode_many
from data_utils.prepare import load_tensors
from models import INPUTS, build_model, weights
from models.efficientnet import SHIPPED
from models.ensemble import average
from training import crossval
from training.loop import CHECKPOINT_FILE, predict_logits, train_epochs
from training.metrics import mcnemar, test_metrics
from training.metrics import scores as scores_of
from training.precision import usable
from tune import METRIC, cv_choice, experiment, lock, model_file, refit, study, trial_inputs
from tune import probe as tune_probe
from tune.cli import ArgumentParser, int_at_least, run_main
from tune.errors import UsageError, results_dir_flag
from tune.report import write_report
from tune.results import alternatives_table, percent, summary_markdown, write_atomic, write_json
from tune.settings import Settings


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


def unfinished_because(exp_dir: Path, exp: Settings) -> str | None:
    """Why the search is not over yet; None when it is: every trial ended, or its time budget
    ended it (experiment.json: `finished`, else `ended_by` "the time budget ...")."""
    holder = lock.live_holder(exp_dir)
    if holder:
        return f"it is running ({lock.describe(holder, exp_dir)})"
    if exp.finished:
        return None
    stale = lock.read(exp_dir)  # its driver died (kill -9, a crash) before writing its results
    if stale:
        return f"its driver (pid {stale.get('pid')} on {stale.get('host')}) died before it ended"
    if str(exp.ended_by or "").startswith("the time budget"):
        return None
    return f"it was ended by {exp.ended_by or 'an interruption'} before every trial ended"


def refusal(exp: Settings, reason: str, results_dir: str) -> UsageError:
    """The one line that refuses an unfinished search, and says how to finish it."""
    name = exp.name
    anyway = (
        "or promote it as it is with --allow-unfinished (the test split is meant to be read "
        "once, when the search has ended)"
    )
    if reason.startswith("it is running"):
        return UsageError(
            f"experiment {name} is not finished: {reason}; promote it when it has ended, {anyway}"
        )
    where = results_dir_flag(results_dir)
    return UsageError(
        f"experiment {name} is not finished: {reason}; continue it with "
        f"python -m tune.run --resume --name {name}{where}, {anyway}"
    )


def load_checkpoint_model(exp: Settings, config: dict, checkpoint):
    """The model saved in a ray.tune.Checkpoint (local or in remote storage)."""
    settings = trial_inputs.for_trial(config, exp.trial_settings)
    config, size = {**config, "weights": "none"}, settings.image_size
    model = build_model(settings.model, config, size, num_classes=settings.classes)
    with checkpoint.as_directory() as folder:
        model.load_state_dict(
            torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True)["model"]
        )
    return model.eval()


def retrain_scores(
    exp_dir: Path, exp: Settings, candidates: pd.DataFrame, seeds: int
) -> pd.DataFrame:
    """Each candidate config trained from scratch with `seeds` seeds, in the search's precision;
    its best val loss per seed."""
    data = trial_inputs.trial_data(exp_dir)
    rows = []
    configs = {
        row["trial_id"]: experiment.best_checkpoint(exp_dir, row["trial_id"])[0]
        for _, row in candidates.iterrows()
    }  # read once per candidate, not once per seed
    runs = [(row, seed) for _, row in candidates.iterrows() for seed in range(1, seeds + 1)]
    # a live bar on a terminal (as tune/engine/progress.py), one line per run everywhere
    with tqdm(total=len(runs), desc="retraining", unit="run", file=sys.stdout, disable=None) as bar:
        for row, seed in runs:
            config = configs[row["trial_id"]]
            settings = trial_inputs.for_trial(
                config, exp.trial_settings, seed=exp.seed + 1000 * seed
            )
            history = [
                metrics for metrics, _ in train_epochs(config, settings, data[settings.model])
            ]
            best = experiment.best_row(pd.DataFrame(history))
            rows.append(
                {
                    "trial": row["trial"],
                    "trial_id": row["trial_id"],
                    "seed": settings.seed,
                    "val_loss": best["val_loss"],
                    "val_acc": best["val_acc"],
                }
            )
            tqdm.write(
                f"  retrained trial {row['trial']} with seed {settings.seed}: val loss "
                f"{best['val_loss']:.4f}, val accuracy {percent(best['val_acc'])}",
                file=sys.stdout,
            )
            bar.update()
    return pd.DataFrame(rows)


def choose(
    exp_dir: Path, exp: Settings, table: pd.DataFrame, top_k: int, seeds: int
) -> tuple[pd.Series, dict]:
    finished = table[table["epochs"] > 0] if len(table) else table
    if finished.empty:
        raise UsageError(
            f"experiment {exp.name} has no trial with a finished epoch yet: nothing to promote"
        )
    if top_k == 1:
        return finished.iloc[0], {"method": f"best {METRIC} of any trial's epoch during the search"}
    candidates = finished.head(top_k)
    print(f"Retraining the top {len(candidates)} configs with {seeds} seeds each ...")
    scores = retrain_scores(exp_dir, exp, candidates, seeds)
    means = scores.groupby("trial_id")[["val_loss", "val_acc"]].mean().sort_values("val_loss")
    winner_id = means.index[0]
    margin = means["val_loss"].iloc[1] - means["val_loss"].iloc[0] if len(means) > 1 else None
    return candidates[candidates["trial_id"] == winner_id].iloc[0], {
        "method": (
            f"top {len(candidates)} configs retrained from scratch with {seeds} seeds; "
            f"best mean {METRIC}"
        ),
        "mean_by_trial": means.reset_index().to_dict(orient="records"),
        "runs": scores.to_dict(orient="records"),
        "margin_val_loss": margin,
    }


def load_trial(exp_dir: Path, exp: Settings, trial_id: str):
    """A trial's config, the checkpoint Ray kept for it (its best epoch), and the model saved
    there."""
    config, checkpoint = experiment.best_checkpoint(exp_dir, trial_id)
    return config, checkpoint, load_checkpoint_model(exp, config, checkpoint)


def options(count: int, tta: bool) -> list[tuple[str, int, bool]]:
    """What validation chooses among: (name, how many of the top trials are averaged, flip TTA).
    Every size up to `count`: a weaker trial can make the average worse, and which one does
    is a question for validation."""
    found = [("single best", 1, False)] + ([("single best + flip TTA", 1, True)] if tta else [])
    for size in range(2, count + 1):
        found += [(f"ensemble of the top {size}", size, False)]
        found += [(f"ensemble of the top {size} + flip TTA", size, True)] if tta else []
    return found


class Photos:
    """The photos of each split at any input size (memory-mapped where the search decoded that
    size, decoded from the manifest once otherwise), and a model's logits on them in the
    precision this CPU computes."""

    def __init__(self, exp_dir: Path, exp: Settings):
        self.dataset_dir = Path(exp.dataset_dir)
        self.trial_settings = exp.trial_settings
        self.classes = experiment.classes(exp)
        self.precision, note = usable(self.trial_settings.precision)
        if note:
            print(f"Note: {note}")
        self.files = {
            inputs.image_size: exp_dir / inputs.tensors_file
            for inputs in self.trial_settings.inputs.values()
        }
        self.manifest = pd.read_csv(exp_dir / "manifest.csv")
        self.decoded = {}  # (size, split) -> images, for sizes the search did not decode
        self.first = next(iter(self.files.values()))
        self.val_y, self.test_y = self.labels("val"), self.labels("test")

    def labels(self, split: str) -> torch.Tensor:
        return load_tensors(self.first, split)[1]

    def images(self, size: int, split: str) -> torch.Tensor:
        if size in self.files:
            return load_tensors(self.files[size], split)[0]
        if (size, split) not in self.decoded:
            manifest = self.manifest
            usable_rows = manifest[(manifest["status"] == "ok") & (manifest["split"] == split)]
            images, errors = decode_many([self.dataset_dir / p for p in usable_rows["path"]], size)
            if errors:  # read when the search began: a photo changed or vanished since
                raise UsageError(f"{self.dataset_dir}: {len(errors)} photo(s) no longer decode")
            self.decoded[size, split] = torch.stack(images)
        return self.decoded[size, split]

    def logits(
        self, config: dict, model, views: bool, splits=("val", "test"), size: int | None = None
    ) -> dict:
        """{split: [logits on the photos, and on their mirror images if `views`]}, each photo at
        the model's input size (its trials', unless `size` says)."""
        name = config.get("model", self.trial_settings.model)
        size = size or self.trial_settings.inputs[name].image_size
        normalization = INPUTS[name][1]
        return {
            split: [
                predict_logits(model, view, normalization, self.precision)
                for view in ([x, x.flip(-1)] if views else [x])
            ]
            for split, x in ((s, self.images(size, s)) for s in splits)
        }


def load_members(exp_dir: Path, exp: Settings, table: pd.DataFrame, winner: pd.Series, count: int):
    """The winner and the next best trials, up to `count`: (row, config, checkpoint, model)."""
    others = table[(table["epochs"] > 0) & (table["trial_id"] != winner["trial_id"])]
    rows = [winner] + [row for _, row in others.head(count - 1).iterrows()]
    return [(row, *load_trial(exp_dir, exp, row["trial_id"])) for row in rows]


def probe_weight(probe: dict) -> float:
    """Each probe member's share in an average with trials: the probe as a whole weighs one."""
    return 1.0 / len(probe["recipe"].members)


def combine(outputs: list, probe: dict | None, split: str) -> torch.Tensor:
    """The trials' outputs (each view weighs one) averaged, with the probe's `split` outputs too
    when a probe is given, as model_file.Promoted averages them."""
    weights = [1.0] * len(outputs)
    if probe:  # its backbones together weigh as much as one trial
        outputs = outputs + probe[split]
        weights += [probe_weight(probe)] * len(probe[split])
    return outputs[0] if len(outputs) == 1 else average(outputs, weights)


def score_options(logits: list[dict], photos: Photos, tta: bool, probe: dict | None) -> list[dict]:
    """Every option (`options`, and with a probe: the probe alone and the single best averaged
    with it) scored on validation (what chooses) and on test (reported). Each member's logits are
    computed once; an option averages some of them, as model_file.Promoted (what evaluate and
    predict run) does, with the same models/ensemble.py."""
    specs = [(name, count, flip, False) for name, count, flip in options(len(logits), tta)]
    if probe:
        flip = probe["recipe"].flip_tta
        specs += [("probe", 0, flip, True), ("single best + probe", 1, flip, True)]
    tried = []
    for name, count, flip, with_probe in specs:

        def combined(split, count=count, flip=flip, with_probe=with_probe):
            chosen = [z for member in logits[:count] for z in member[split][: 1 + flip]]
            return combine(chosen, probe if with_probe else None, split)

        val, test_logits = scores_of(combined("val"), photos.val_y), combined("test")
        tried.append(
            {
                "name": name,
                "members": count,
                "hflip_tta": flip,
                "probe": with_probe,
                "val_loss": val["loss"],
                "val_acc": val["accuracy"],
                "logits": test_logits,
                "test": test_metrics(photos.test_y, test_logits, photos.classes),
            }
        )
    return tried


def choose_option(exp_dir, exp, members, tried, probe, photos, args) -> tuple[dict, str, list]:
    """(the option promoted, how it was chosen, each member's cross-validation or None): by
    cross-validation over train + val where the members can be retrained on cached activations
    (tune/cv_choice.py), by validation loss otherwise (ties: the simpler, listed first)."""
    if not args.cv:
        return min(tried, key=lambda o: o["val_loss"]), "validation loss (--no-cv)", [None]
    trials = [cv_choice.trial_cv(exp_dir, exp, c, checkpoint) for _, c, checkpoint, _ in members]
    labels = torch.cat([photos.labels("train"), photos.labels("val")]).numpy().astype(int)
    chosen, how = cv_choice.rank(tried, trials, probe, labels)
    return chosen, how, trials


def winner_scores(exp_dir, exp, photos, members, chosen, selection, unfinished) -> dict:
    """test_scores.json without the baseline and the probe: the search, how the winner was
    chosen, its test. A winner that is the probe alone names no trial."""
    row, config, checkpoint, _ = members[0]
    scores = {
        "experiment": exp.name,
        "space": exp.space,
        "test_images": len(photos.test_y),
        "selection": selection,
        "unfinished": bool(unfinished),
        **({"unfinished_reason": unfinished} if unfinished else {}),
        "winner": {
            "trial": int(row["trial"]),
            "trial_id": row["trial_id"],
            "config": config,
            "checkpoint": experiment.checkpoint_label(exp_dir, checkpoint),
            "val_loss": float(row["best_val_loss"]),
            "val_acc": float(row["best_val_acc"]),
            "test": chosen["test"],
        },
    }
    if chosen["members"] == 0:
        scores["winner"].update(trial=None, trial_id="probe", config=None, checkpoint=None)
    if chosen["name"] != "single best":
        scores["winner"].update(
            val_loss=chosen["val_loss"],
            val_acc=chosen["val_acc"],
            ensemble={
                "name": chosen["name"],
                "hflip_tta": chosen["hflip_tta"],
                "probe": chosen["probe"],
                "members": [
                    {
                        "trial": int(r["trial"]),
                        "trial_id": r["trial_id"],
                        "checkpoint": experiment.checkpoint_label(exp_dir, c),
                    }
                    for r, _, c, _ in members[: chosen["members"]]
                ],
            },
        )
    return scores


def baseline_scores(
    exp_dir, exp, table, photos, members, logits
) -> tuple[dict, torch.Tensor] | None:
    """The seed report's baseline on the same test photos: its scores and its test logits
    (None when it has no finished epoch)."""
    baseline = table[table["baseline"] & (table["epochs"] > 0)]
    if baseline.empty:
        return None
    b = baseline.iloc[0]
    loaded = [i for i, (row, *_) in enumerate(members) if row["trial_id"] == b["trial_id"]]
    if loaded:  # the baseline is one of the members (often the winner): already scored
        b_checkpoint, b_logits = members[loaded[0]][2], logits[loaded[0]]["test"][0]
    else:
        b_config, b_checkpoint, b_model = load_trial(exp_dir, exp, b["trial_id"])
        b_logits = photos.logits(b_config, b_model, False, splits=("test",))["test"][0]
    return {
        "trial": int(b["trial"]),
        "trial_id": b["trial_id"],
        "checkpoint": experiment.checkpoint_label(exp_dir, b_checkpoint),
        "val_loss": float(b["best_val_loss"]),
        "val_acc": float(b["best_val_acc"]),
        "test": test_metrics(photos.test_y, b_logits, photos.classes),
    }, b_logits


def save_promotion(
    exp_dir, exp, table, scores, members, chosen, probe, precision, results_dir
) -> None:
    """test_scores.json, model.pt, the leaderboard row, the study's note, summary and report."""
    write_json(exp_dir / "test_scores.json", scores)
    saved = []  # (model name, config, weights, input size) of each model promoted
    for _, member_config, _, model in members[: chosen["members"]]:
        trial = trial_inputs.for_trial(member_config, exp.trial_settings)
        saved.append((trial.model, member_config, model.state_dict(), trial.image_size))
    weights = [1.0] * len(saved)
    if chosen["probe"]:
        saved += [(name, c, net.state_dict(), size) for name, c, net, size in probe["networks"]]
        weights += [probe_weight(probe)] * len(probe["networks"])
    winner = scores["winner"]
    about = {"experiment": exp.name, "trial_id": winner["trial_id"]}
    about["checkpoint"] = winner["checkpoint"]
    if "ensemble" in winner:
        about["ensemble"] = winner["ensemble"]
    model_file.save(
        exp_dir / "model.pt",
        saved,
        precision,
        about,
        hflip_tta=chosen["hflip_tta"],
        classes=experiment.classes(exp),
        weights=weights,
        weights_sources=weights_sources(exp, saved),
    )
    update_leaderboard(Path(results_dir) / "leaderboard.csv", scores)
    study.record_test_scores(exp_dir, scores)
    best = experiment.best_trial(exp_dir, table)
    write_atomic(exp_dir / "summary.md", summary_markdown(exp, table, best, scores))
    write_report(exp_dir)


def weights_sources(exp: Settings, saved: list) -> dict:
    """Where each saved member's ImageNet weights came from: as the search recorded it, or (the
    probe's backbones, and searches from before it was recorded) where they are found now."""
    inputs = exp.trial_settings.inputs
    found = {}
    for name, config, _, _ in saved:
        recorded = inputs[name].weights if name in inputs else None
        if recorded or (name in SHIPPED and config.get("weights", "imagenet") == "imagenet"):
            found[name] = recorded or weights.resolve(name)
    return found


def refit_chosen(exp_dir, exp, photos, members, chosen, probe) -> list:
    """`--refit`: the chosen option's trials retrained on train + val (tune/refit.py), its test
    figures now the refitted models' (the first ones kept beside them, for the record); returns
    the members with their refitted networks."""
    refitted, record = [], []
    for row, config, checkpoint, _ in members[: chosen["members"]]:
        model, passes = refit.refit(exp_dir, exp, config, checkpoint)
        refitted.append((row, config, checkpoint, model))
        record.append({"trial": int(row["trial"]), "passes": passes})
    logits = [
        photos.logits(config, model, chosen["hflip_tta"], ("test",))["test"]
        for _, config, _, model in refitted
    ]
    outputs = [z for member in logits for z in member]
    chosen["logits"] = combine(outputs, probe if chosen["probe"] else None, "test")
    chosen["test_without_refit"] = chosen["test"]
    chosen["test"] = test_metrics(photos.test_y, chosen["logits"], photos.classes)
    chosen["refit"] = {
        "members": record,
        "trained_on": {"train": len(photos.labels("train")), "val": len(photos.val_y)},
    }
    return refitted + members[chosen["members"] :]


def refuse_what_was_not_kept(exp: Settings, args) -> None:
    """--ensemble K or --top-k K past the checkpoints the search kept: one line, before any work."""
    for wanted, flag in ((args.ensemble or 1, "--ensemble"), (args.top_k, "--top-k")):
        if too_few := experiment.kept_too_few(exp, wanted, flag):
            raise UsageError(too_few)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    exp_dir = experiment.find(args.results_dir, args.experiment)
    exp = experiment.settings(exp_dir)
    unfinished = unfinished_because(exp_dir, exp)
    if unfinished and not args.allow_unfinished:
        raise refusal(exp, unfinished, args.results_dir)  # before the test split is read
    refuse_what_was_not_kept(exp, args)
    table = experiment.trials_table(exp_dir)
    winner_row, selection = choose(exp_dir, exp, table, args.top_k, args.seeds)

    photos = Photos(exp_dir, exp)
    probe = tune_probe.fit(photos) if args.probe and tune_probe.applies(exp) else None
    members = load_members(exp_dir, exp, table, winner_row, args.ensemble or 1)
    views = args.tta or bool(probe and probe["recipe"].flip_tta)
    logits = [photos.logits(config, model, views) for _, config, _, model in members]
    tried = score_options(logits, photos, args.tta, probe)
    chosen, chosen_by, trial_cvs = choose_option(exp_dir, exp, members, tried, probe, photos, args)
    if args.refit and chosen["members"]:
        members = refit_chosen(exp_dir, exp, photos, members, chosen, probe)

    scores = winner_scores(exp_dir, exp, photos, members, chosen, selection, unfinished)
    scores["chosen_by"] = chosen_by
    if trial_cvs[0]:  # the search's best trial, promoted or not
        scores["best_trial_cv"] = {
            "trial": int(members[0][0]["trial"]),
            **crossval.summary(trial_cvs[0]),
        }
    if "refit" in chosen:
        scores["winner"]["refit"] = chosen["refit"]
    baseline = baseline_scores(exp_dir, exp, table, photos, members, logits)
    if baseline:  # McNemar's paired test of every option against it, on the same photos
        scores["baseline"], b_logits = baseline
        scores["mcnemar_winner_vs_baseline"] = mcnemar(photos.test_y, chosen["logits"], b_logits)
        for option in tried:
            option["mcnemar_vs_baseline"] = mcnemar(photos.test_y, option["logits"], b_logits)
    if probe:  # the probe alone, and the winner against it
        alone = next(option for option in tried if option["name"] == "probe")
        scores["probe"] = {**probe["summary"], "test": alone["test"]}
        scores["mcnemar_winner_vs_probe"] = mcnemar(
            photos.test_y, chosen["logits"], alone["logits"], b="probe"
        )
    if len(tried) > 1:
        scores["alternatives"] = [
            {k: v for k, v in option.items() if k != "logits"} for option in tried
        ]
        print(alternatives_table(scores))
    scores["final_words"] = final_words(scores)
    save_promotion(
        exp_dir, exp, table, scores, members, chosen, probe, photos.precision, args.results_dir
    )
    print(scores["final_words"])
    print(
        f"Wrote {exp_dir}/test_scores.json, {exp_dir}/model.pt, {args.results_dir}/leaderboard.csv"
    )
    return 0


def update_leaderboard(path: Path, scores: dict) -> None:
    """One row per experiment (a new promotion replaces the experiment's old row)."""
    test = scores["winner"]["test"]
    row = {
        "experiment": scores["experiment"],
        "space": scores["space"],
        "trial_id": scores["winner"]["trial_id"],
        "test_n": test["n"],
        "test_acc": test["accuracy"],
        "test_acc_ci_low": test["accuracy_ci95"][0],
        "test_acc_ci_high": test["accuracy_ci95"][1],
        "test_auc": test["roc_auc"],
        "test_f1": test["f1"],
        "baseline_test_acc": scores.get("baseline", {}).get("test", {}).get("accuracy"),
        "mcnemar_p": scores.get("mcnemar_winner_vs_baseline", {}).get("p_value"),
        "unfinished": scores.get("unfinished", False),
        "promoted_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    board = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    if len(board):
        board = board[board["experiment"] != row["experiment"]]
    board = pd.concat([board, pd.DataFrame([row])], ignore_index=True).sort_values(
        "test_acc", ascending=False
    )
    write_atomic(path, board.to_csv(index=False))


def final_words(scores: dict) -> str:
    """The promotion's closing prose: how the winner was chosen and what it reached, then the
    report's baseline, the probe and the cross-validation beside it."""
    parts = [
        unfinished_words(scores),
        retrained_words(scores),
        winner_words(scores),
        baseline_words(scores),
        probe_words(scores),
    ]
    return "".join(parts)


def unfinished_words(scores: dict) -> str:
    if not scores.get("unfinished"):  # first, so that nobody reads the figures without it
        return ""
    return (
        f"Promoted with --allow-unfinished before the search had finished "
        f"({scores['unfinished_reason']}): the test split is now read, and the search's "
        f"best may still change. "
    )


def retrained_words(scores: dict) -> str:
    selection = scores["selection"]
    if "mean_by_trial" not in selection:
        return ""
    means = selection["mean_by_trial"]
    margin = (
        f", {selection['margin_val_loss']:.4f} below the next config's {means[1]['val_loss']:.4f}"
        if len(means) > 1
        else ""
    )
    return (
        f"Retrained from scratch, trial {scores['winner']['trial']}'s config had the best mean "
        f"val loss ({means[0]['val_loss']:.4f}{margin}). "
    )


def winner_words(scores: dict) -> str:
    w = scores["winner"]["test"]
    lo, hi = w["accuracy_ci95"]
    reached = (
        f"reached {percent(w['accuracy'])} on {w['n']} test images (95% "
        f"CI {percent(lo)}-{percent(hi)})."
    )
    if "ensemble" not in scores["winner"]:
        refitted = ", refitted on train + val," if "refit" in scores["winner"] else ""
        return f"The search's best model (trial {scores['winner']['trial']}){refitted} {reached}"
    chosen = scores["winner"]["ensemble"]
    trials = ", ".join(str(m["trial"]) for m in chosen["members"])
    which = f" (trial{'s' * (len(chosen['members']) > 1)} {trials})" if trials else ""
    refitted = " refitted on train + val" if "refit" in scores["winner"] else ""
    return (
        f"Chosen by {scores.get('chosen_by', 'validation loss')}, the "
        f"{chosen['name']}{which}{refitted} {reached}"
    )


def baseline_words(scores: dict) -> str:
    if (
        scores.get("baseline", {}).get("trial_id") == scores["winner"]["trial_id"]
        and "ensemble" not in scores["winner"]
    ):
        return (
            " The winner is the report's hand-tuned baseline itself: the search found nothing "
            "better."
        )
    if "baseline" not in scores:
        return ""
    b = scores["baseline"]["test"]
    p = scores["mcnemar_winner_vs_baseline"]["p_value"]
    verdict = "is" if p < 0.05 else "is not"
    return (
        f" The report's hand-tuned config reached {percent(b['accuracy'])}; the "
        f"difference {verdict} significant (McNemar p={p:.3g})."
    )


def probe_words(scores: dict) -> str:
    if "probe" not in scores:
        return ""
    if scores["winner"]["trial_id"] == "probe":
        text = (
            " The winner is the probe itself (a logistic regression on frozen features): the "
            f"search's own models did not beat it ({scores.get('chosen_by', 'validation loss')})."
        )
    else:
        pr, p = scores["probe"]["test"], scores["mcnemar_winner_vs_probe"]["p_value"]
        text = (
            f" The probe ({scores['probe']['recipe']}) reached {percent(pr['accuracy'])}; McNemar "
            f"p={p:.3g} against it."
        )
    if "best_trial_cv" in scores:
        cv, probe_cv = scores["best_trial_cv"], scores["probe"]["cv"]
        text += (
            f" Cross-validated over train + val ({cv['folds']} folds): the best trial "
            f"({cv['trial']})'s config {percent(cv['accuracy_mean'])} "
            f"(sd {percent(cv['accuracy_sd'])}), the probe {percent(probe_cv['accuracy_mean'])} "
            f"(sd {percent(probe_cv['accuracy_sd'])})."
        )
    return text


if __name__ == "__main__":
    run_main(main)
