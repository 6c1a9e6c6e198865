"""Start a search: `python -m tune.run --space cnn_dataset1`.

Order matters for "nothing half-written": every check (flags, space, data, weights) runs
before the experiment folder appears, and the folder appears whole (built aside, then renamed).
"""
import json
import os
import re
import shutil
import time
from pathlib import Path

import search_spaces
from data_utils.layout import resolve_data_root
from data_utils.prepare import prepare
from models import INPUTS, check_pretrained_weights
from tune import experiment
from tune.cli import ArgumentParser, UsageError, int_at_least, run_main
from tune.report import write_report
from tune.results import percent, summary_markdown, write_atomic, write_json


def parse_args(argv):
    p = ArgumentParser(prog="python -m tune.run", description="Run a hyperparameter search over a named space.")
    p.add_argument("--space", help="search space name (see --list-spaces)")
    p.add_argument("--list-spaces", action="store_true", help="list the search spaces and exit")
    p.add_argument("--name", help="experiment name (default: SPACE_YYYYmmdd_HHMMSS)")
    p.add_argument("--num-samples", type=int_at_least(1), help="number of trials (default: the space's)")
    p.add_argument("--max-epochs", type=int_at_least(1), help="most epochs per trial (default: the space's)")
    p.add_argument("--cpus-per-trial", type=int_at_least(1), default=1, help="CPUs (and torch threads) per trial")
    p.add_argument("--max-concurrent", type=int_at_least(1),
                   help="trials run at once (default: the CPUs Ray has / --cpus-per-trial)")
    p.add_argument("--data-root", help="folder holding the data sets (default: $TUNE_DATA_ROOT, else data/)")
    p.add_argument("--results-dir", default="results", help="where experiments are written (default: results/)")
    p.add_argument("--seed", type=int_at_least(0), help="seed for the split, the searcher and every trial (default 0)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted experiment --name")
    p.add_argument("--address", help="join this running Ray cluster instead of starting a local one")
    p.add_argument("--weights-file", help="ImageNet weights file for resnet18 (default: torch hub's cache)")
    args = p.parse_args(argv)
    args.seed_given, args.seed = args.seed is not None, 0 if args.seed is None else args.seed
    if args.name is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.name):
        p.error(f"--name {args.name!r}: use letters, digits, '_', '-' and '.' only (it becomes a folder name)")
    if not (args.list_spaces or args.space or args.resume):
        p.error("--space is required (see --list-spaces)")
    return args


def list_spaces() -> None:
    for name in search_spaces.names():
        space = search_spaces.load(name)
        doc = (space.__doc__ or "").strip().splitlines()[0]
        print(f"{name:18s} {space.model:18s} {space.dataset:27s} {doc}")


def weights_used(space) -> set:
    """Every value the space's `weights` setting can take."""
    values = {getattr(space, "fixed", {}).get("weights"), space.baseline.get("weights")}
    return values | set(getattr(space.params.get("weights"), "choices", []))


def check_batch_sizes(space, train_size: int) -> None:
    sizes = [space.baseline.get("batch_size", 0)]
    sizes += list(getattr(space.params.get("batch_size"), "choices", []))
    if max(sizes) > train_size:
        raise UsageError(f"search space {space.__name__} asks for batch size {max(sizes)} but the training split "
                         f"has only {train_size} images: lower its batch_size choices or use more data")


def start_ray(address: str | None, num_cpus: int):
    """Join a cluster at `address`, or start our own Ray that listens on loopback only and has
    no dashboard (Ray's job API has no authentication: CVE-2023-48022)."""
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "1")  # save experiment state often: a crash loses ~nothing
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if not address:
        # Ray binds its servers to the node IP; this switch (read when ray is imported) makes
        # that IP 127.0.0.1, as Ray does on laptops, instead of the machine's network address.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    if address:
        return ray.init(address=address)
    return ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list_spaces:
        list_spaces()
        return 0
    if args.resume:
        return resume(args)
    space = search_spaces.load(args.space)
    name = args.name or f"{args.space}_{time.strftime('%Y%m%d_%H%M%S')}"
    exp_dir = Path(args.results_dir) / name
    if (exp_dir / "experiment.json").is_file() and not experiment.settings(exp_dir).get("finished"):
        raise UsageError(f"experiment {name} in {args.results_dir}/ was interrupted: continue it with "
                         f"python -m tune.run --resume --name {name}")
    if exp_dir.exists():
        raise UsageError(f"experiment {exp_dir} already exists: pick another --name")
    if args.weights_file and not Path(args.weights_file).is_file():
        raise UsageError(f"--weights-file {args.weights_file} does not exist")
    check_pretrained_weights(space.model, weights_used(space), args.weights_file)

    image_size = getattr(space, "image_size", None) or INPUTS[space.model][0]
    data = prepare(resolve_data_root(args.data_root), space.dataset, image_size, args.seed,
                   getattr(space, "subset_per_class", None))
    check_batch_sizes(space, data.sizes()["train"])

    num_cpus = os.cpu_count()
    exp = {"name": name, "space": args.space, "model": space.model, "dataset": space.dataset,
           "dataset_dir": str(data.dataset_dir.resolve()), "image_size": image_size,
           "split_sizes": data.sizes(), "num_samples": args.num_samples or space.num_samples,
           "max_epochs": args.max_epochs or space.max_epochs, "seed": args.seed,
           "cpus_per_trial": args.cpus_per_trial,
           "max_concurrent": args.max_concurrent or max(1, num_cpus // args.cpus_per_trial),
           "baseline": space.baseline, "finished": False, "wall_time_s": 0.0}
    exp["trial_settings"] = {  # what every trial shares; saved so that --resume rebuilds the same trainable
        "model": space.model, "image_size": image_size, "max_epochs": exp["max_epochs"], "seed": args.seed,
        "cpus_per_trial": args.cpus_per_trial, "weights_file": args.weights_file,
        "tensors_file": str((exp_dir / f"images_{image_size}.pt").resolve())}

    staging = exp_dir.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    data.save(staging / "manifest.csv", staging / f"images_{image_size}.pt")
    del data  # trials memory-map the saved tensors; the driver keeps no copy through the search
    write_json(staging / "experiment.json", exp)
    staging.rename(exp_dir)
    print(f"Experiment {name}: {exp['split_sizes']} images (train/val/test), manifest in {exp_dir / 'manifest.csv'}")

    start_ray(args.address, num_cpus)
    from tune.search import make_tuner  # imports Ray: only after start_ray has set it up
    tuner = make_tuner(space, exp["trial_settings"], exp_dir, exp["num_samples"], exp["max_concurrent"], args.seed)
    return fit_and_write(tuner, exp_dir, exp)


def resume(args) -> int:
    if not args.name:
        raise UsageError("--resume needs --name EXPERIMENT")
    exp_dir = experiment.find(args.results_dir, args.name)
    exp = experiment.settings(exp_dir)
    asked = {"space": args.space, "num_samples": args.num_samples, "max_epochs": args.max_epochs,
             "seed": args.seed if args.seed_given else None}
    differences = [f"--{k.replace('_', '-')} {v} (it ran with {exp[k]})" for k, v in asked.items()
                   if v is not None and v != exp[k]]
    if differences:
        raise UsageError(f"experiment {args.name} cannot resume with other settings: {'; '.join(differences)}; "
                         f"leave them out, or start a new experiment")
    if exp.get("finished"):
        print(f"Experiment {args.name} already finished ({len(experiment.trials_table(exp_dir))} trials); "
              f"nothing to resume. Its results: {exp_dir}/summary.md")
        return 0
    if not any((exp_dir / "ray").glob("experiment_state-*.json")):
        raise UsageError(f"experiment {args.name} stopped before Ray saved any state: "
                         f"delete {exp_dir} and start it again")
    start_ray(args.address, os.cpu_count())
    from tune.search import restore_tuner
    print(f"Resuming experiment {args.name} from {exp_dir / 'ray'}")
    return fit_and_write(restore_tuner(exp_dir, exp["trial_settings"]), exp_dir, exp)


def fit_and_write(tuner, exp_dir: Path, exp: dict) -> int:
    started = time.time()
    tuner.fit()
    exp["wall_time_s"] = exp.get("wall_time_s", 0.0) + time.time() - started
    table = experiment.trials_table(exp_dir)
    exp["finished"] = len(table) >= exp["num_samples"] and table["status"].isin(
        ["COMPLETED", "STOPPED", "ERROR"]).all()
    write_results(exp_dir, exp, table)
    write_report(exp_dir)
    if not exp["finished"]:
        print(f"\nThe search was interrupted; finished trials are kept. Continue it with:\n"
              f"  python -m tune.run --resume --name {exp['name']}" +
              (f" --results-dir {exp_dir.parent}" if exp_dir.parent != Path("results") else ""))
        return 130
    return 0


def write_results(exp_dir: Path, exp: dict, table) -> None:
    best = experiment.best_trial(exp_dir, table)
    write_atomic(exp_dir / "trials.csv", table.to_csv(index=False))
    if best:
        write_json(exp_dir / "best_config.json", best)
    write_atomic(exp_dir / "summary.md", summary_markdown(exp, table, best))
    write_json(exp_dir / "experiment.json", exp)
    print(f"\nResults in {exp_dir}/ (summary.md, trials.csv, best_config.json)")
    if best:
        print(f"Best trial {best['trial']} ({best['trial_id']}, epoch {best['epoch']}): val loss "
              f"{best['val_loss']:.4f}, val accuracy {percent(best['val_acc'])}\n  config: {json.dumps(best['config'])}")


if __name__ == "__main__":
    run_main(main)
