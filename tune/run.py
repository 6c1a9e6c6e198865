"""Start a search: `python -m tune.run --space cnn_dataset1`.

Order matters for "nothing half-written": every check (flags, space, data, weights) runs
before the experiment folder appears, and the folder appears whole (built aside, then renamed).
"""

import contextlib
import io
import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import torch

import search_spaces
from data_utils.layout import resolve_data_root
from data_utils.prepare import prepare, save_tensors
from models import (
    CACHED_FEATURES,
    PARTIAL,
    build_model,
    check_pretrained_weights,
    efficientnet,
)
from training import features, precision
from tune import disk, experiment, lock, trial_inputs
from tune.cli import ArgumentParser, int_at_least, positive, run_main
from tune.engine.cluster import check_cluster, start_ray
from tune.engine.context import RunContext
from tune.errors import UsageError, WriteFailed, results_dir_flag
from tune.report import write_report
from tune.results import percent, summary_markdown, write_atomic, write_json
from tune.settings import ModelInputs, Settings, TrialSettings, budget_unit


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.run", description="Run a hyperparameter search over a named space."
    )
    add_search_flags(p)
    add_data_flags(p)
    add_run_flags(p)
    args = p.parse_args(argv)
    args.seed_given, args.seed = args.seed is not None, 0 if args.seed is None else args.seed
    if args.name is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.name):
        p.error(
            f"--name {args.name!r}: use letters, digits, '_', '-' and '.' only (it becomes a "
            "folder name)"
        )
    if not (args.list_spaces or args.space or args.resume):
        p.error("--space is required (see --list-spaces)")
    return args


def add_search_flags(p) -> None:
    """What to search and how much."""
    p.add_argument(
        "--space", help="a search space: its name (see --list-spaces) or a .py file of that form"
    )
    p.add_argument("--list-spaces", action="store_true", help="list the search spaces and exit")
    p.add_argument("--name", help="experiment name (default: SPACE_YYYYmmdd_HHMMSS)")
    p.add_argument(
        "--num-samples", type=int_at_least(1), help="number of trials (default: the space's)"
    )
    p.add_argument(
        "--max-passes",
        "--max-epochs",  # its name before 2026-12-05
        type=int_at_least(1),
        help="a trial's budget: passes over the training split (default: the space's; the "
        "baseline trains as many epochs of its own data)",
    )
    p.add_argument(
        "--cpus-per-trial",
        type=int_at_least(1),
        default=1,
        help="CPUs (and torch threads) per trial",
    )
    p.add_argument(
        "--keep-checkpoints",
        type=int_at_least(1),
        default=experiment.KEEP_CHECKPOINTS,
        metavar="K",
        help="after the search, keep the checkpoints of the K best trials and the baseline, the "
        "most tune.promote --ensemble and --top-k can take (default %(default)s)",
    )
    p.add_argument(
        "--max-concurrent",
        type=int_at_least(1),
        help="trials run at once (default: the CPUs Ray has / --cpus-per-trial)",
    )


def add_data_flags(p) -> None:
    """The photos, the results and the seed."""
    p.add_argument(
        "--dataset",
        metavar="NAME",
        help=(
            "search this data set (a folder under the data root, in any layout the data layer "
            "reads) instead of the space's own, with the space's model, parameters and baseline"
        ),
    )
    p.add_argument(
        "--data-root", help="folder holding the data sets (default: $TUNE_DATA_ROOT, else data/)"
    )
    p.add_argument(
        "--results-dir", default="results", help="where experiments are written (default: results/)"
    )
    p.add_argument(
        "--seed",
        type=int_at_least(0),
        help="seed for the split, the searcher and every trial (default 0)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the interrupted experiment --name"
    )


def add_run_flags(p) -> None:
    """Where and how the search runs."""
    p.add_argument(
        "--address", help="join this running Ray cluster instead of starting a local one"
    )
    p.add_argument(
        "--storage",
        metavar="PATH_OR_URI",
        help="where Ray keeps checkpoints and experiment state: a folder every node sees, or a URI "
        "(s3://, gs://, ...); default: ray/ inside the experiment folder",
    )
    p.add_argument(
        "--weights-file",
        action="append",
        metavar="[MODEL=]PATH",
        help="ImageNet weights for a model (default: its package, else the library's download "
        "into its cache: torch hub's for resnet18, Hugging Face's for timm/...); MODEL= where "
        "the space loads more than one; repeat per model",
    )
    p.add_argument(
        "--precision",
        choices=precision.CHOICES,
        help="arithmetic of the trials: auto (default) = bf16 + channels_last where this CPU has "
        "native bf16, fp32 elsewhere; a resumed search keeps its own",
    )
    p.add_argument(
        "--time-budget",
        type=positive("minutes"),
        metavar="MINUTES",
        help="start no trial after this many minutes; running trials stop at their next epoch, "
        "resumable with --resume (which may give a new budget)",
    )
    p.add_argument(
        "--log-every",
        type=positive("seconds"),
        default=60.0,
        metavar="SECONDS",
        help="off a terminal (a log file, CI), a status line at least this often (default 60)",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="Ray's own trial table and its workers' logs instead of the one-line progress display",
    )


SPACE_COPY = "space.py"  # a --space file, as the search read it


def list_spaces() -> None:
    for name in search_spaces.names():
        space = search_spaces.load(name)
        doc = (space.__doc__ or "").strip().splitlines()[0]
        models = search_spaces.models(space)
        model = models[0] if len(models) == 1 else f"{len(models)} searched"
        print(f"{name:20s} {model:18s} {space.dataset:27s} {doc}")


def values_of(space, name: str) -> set:
    """Every value the space's setting `name` can take (fixed, the baseline's, or searched)."""
    values = {getattr(space, "fixed", {}).get(name), space.baseline.get(name)}
    return values | set(getattr(space.params.get(name), "choices", []))


def needs_feature_cache(space, model: str) -> bool:
    return model in CACHED_FEATURES and True in values_of(space, "freeze_backbone")


def cut_stages(space, model: str) -> int:
    """How many last stages the space's partial trials of `model` may train: how far back its
    cache of activations reaches (0: pooled features only)."""
    if model not in PARTIAL or not needs_feature_cache(space, model):
        return 0
    return max((v for v in values_of(space, "unfrozen_stages") if isinstance(v, int)), default=0)


def weights_sources(given: list[str], space, models: list[str]) -> dict:
    """Per model whose trials load ImageNet weights: where they come from (models/weights.py),
    from `--weights-file [MODEL=]PATH` where given. A bare PATH is for the space's one model
    whose weights no package ships."""
    wanted = [m for m in models if m != "seed_cnn" and "imagenet" in values_of(space, "weights")]
    files = {}
    for item in given:
        model, named, path = item.partition("=")
        if not (named and model in models):
            model, path = None, item
        if not Path(path).is_file():
            raise UsageError(f"--weights-file {path} does not exist")
        if model is None:
            unshipped = [m for m in wanted if m not in efficientnet.SHIPPED]
            owners = wanted if len(wanted) == 1 else unshipped
            if len(owners) != 1:
                raise UsageError(
                    f"--weights-file {item}: say which model it is for, --weights-file "
                    f"MODEL=PATH (this space loads ImageNet weights for "
                    f"{', '.join(wanted) or 'no model'})"
                )
            model = owners[0]
        files[model] = path
    return {m: check_pretrained_weights(m, {"imagenet"}, files.get(m)) for m in wanted}


def check_batch_sizes(space, train_size: int) -> None:
    sizes = [space.baseline.get("batch_size", 0)]
    sizes += list(getattr(space.params.get("batch_size"), "choices", []))
    if max(sizes) > train_size:
        raise UsageError(
            f"search space {space.__name__} asks for batch size {max(sizes)} but the training "
            f"split has only {train_size} images: lower its batch_size choices or use more data"
        )


def checkpoint_and_features(
    model: str, size: int, config: dict, frozen: bool, splits: dict, cut: int = 0
) -> tuple[int, int]:
    """Bytes of one checkpoint of `model` (its fp32 weights, and Adam's two moments of those
    it trains) and of its cache when `frozen`: fp32 pooled features, and with `cut` K the fp16
    input of its last k stages for k = 1..K, of every val image and of every view of every
    training image (training/features.py)."""
    net = build_model(model, {**config, "weights": "none", "freeze_backbone": frozen}, size)
    weights = sum(p.numel() for p in net.parameters())
    trained = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if not frozen:
        return 4 * (weights + 2 * trained), 0
    width = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1].in_features
    per_image = 4 * width
    if cut:
        stages, activations = PARTIAL[model]
        inputs, _ = activations(
            net.eval(), torch.zeros(1, 3, size, size), [stages - k for k in range(1, cut + 1)]
        )
        per_image += features.CUT_DTYPE.itemsize * sum(h.numel() for h in inputs.values())
    views = splits["train"] * len(features.VIEWS) + splits["val"]
    return 4 * (weights + 2 * trained), per_image * views


def disk_needs(space, data, sizes: dict) -> dict:
    """What a search of `space` writes besides its trials' logs, known before it starts: the
    decoded images at each input size, the frozen backbones' feature caches, and the
    smallest checkpoint any of its trials can write (tune/disk.py `space_needed`)."""
    labels = sum(y.nbytes for _, y in data.tensors.values())
    count = sum(data.sizes().values())
    images = sum(count * 3 * size * size + labels for size in set(sizes.values()))  # uint8 RGB
    config = {**getattr(space, "fixed", {}), **space.baseline}
    cached, checkpoints = 0, []
    for model, size in sizes.items():
        for frozen in {bool(f) for f in values_of(space, "freeze_backbone")}:
            checkpoint, cache = checkpoint_and_features(
                model, size, config, frozen, data.sizes(), cut_stages(space, model)
            )
            checkpoints.append(checkpoint)
            cached += cache if needs_feature_cache(space, model) else 0
    return {"images": images, "features": cached, "checkpoint": min(checkpoints)}


def check_free_space(args, space, data, sizes: dict, num_samples: int) -> int:
    """One line, exit 2, before anything is written, when the results folder's filesystem (and
    --storage's, where the checkpoints go) clearly cannot hold the search. Returns the bytes
    it needs, at least."""
    needs = disk_needs(space, data, sizes)
    needed = disk.space_needed(needs["images"], needs["features"], needs["checkpoint"], num_samples)
    storage, checkpoints = storage_of(args), num_samples * needs["checkpoint"]
    folders = {Path(args.results_dir): needed - checkpoints * bool(storage)}
    if storage and "://" not in storage:
        folders[Path(storage)] = folders.get(Path(storage), 0) + checkpoints
    mb = disk.megabytes
    disk.refuse_if_it_cannot_fit(
        folders,
        f"decoded images {mb(needs['images'])}, feature "
        f"caches {mb(needs['features'])}, {num_samples} trials' "
        f"checkpoints of about {mb(needs['checkpoint'])} each, "
        f"{mb(disk.MARGIN)} for logs",
    )
    return needed


def storage_of(args) -> str | None:
    """--storage as recorded: an absolute folder, or a URI (anything with '://') as given."""
    if not args.storage:
        return None
    return args.storage if "://" in args.storage else str(Path(args.storage).resolve())


def connect(
    address: str | None, cpus_per_trial: int, storage: str | None, results_dir: Path, verbose: bool
) -> int:
    """Start or join Ray; check that it can run this search. Returns the trials it can run at
    once."""
    start_ray(address, os.cpu_count(), verbose)
    if not address:
        return max(1, os.cpu_count() // cpus_per_trial)
    local_storage = (
        None if storage and "://" in storage else Path(storage) if storage else results_dir
    )
    return check_cluster(cpus_per_trial, local_storage)


def main(argv=None, epoch_scheduler=None) -> int:
    """epoch_scheduler(space, budget): a Ray scheduler judging per epoch to search with
    instead of successive halving; only benchmarks/old_asha.py gives one (Ray's async ASHA, the
    scheduler before), recorded as scheduler "asha" with a budget of epochs."""
    args = parse_args(argv)
    scheduler = "asha" if epoch_scheduler else "halving"
    if args.list_spaces:
        list_spaces()
        return 0
    if args.resume:
        return resume(args)
    space = search_spaces.load(args.space)
    space_name = Path(args.space).stem if search_spaces.is_file(args.space) else args.space
    name = args.name or f"{space_name}_{time.strftime('%Y%m%d_%H%M%S')}"
    exp_dir = Path(args.results_dir) / name
    refuse_existing(exp_dir, name, args.results_dir)
    models = search_spaces.models(space)
    sources = weights_sources(args.weights_file or [], space, models)
    sizes = {model: search_spaces.image_size(space, model) for model in models}
    data = photos_for(args, space, sizes[space.model])
    num_samples = args.num_samples or space.num_samples
    needed = check_free_space(args, space, data, sizes, num_samples)
    storage = storage_of(args)
    can_run = connect(
        args.address, args.cpus_per_trial, storage, Path(args.results_dir), args.verbose
    )
    exp = new_settings(
        args,
        space,
        space_name,
        name,
        data,
        num_samples=num_samples,
        space_needed=needed,
        storage=storage,
        max_concurrent=args.max_concurrent or can_run,
        scheduler=scheduler,
        trial_settings=trial_settings(args, space, data, sizes, sources, scheduler),
    )
    say_precision(exp)
    staging = exp_dir.with_name(f".{name}.partial")
    held = stage_whole(staging, space, data, exp, args.results_dir)
    del data  # trials get the saved tensors through Ray's object store; no second copy here
    staging.rename(exp_dir)
    with held.moved_to(exp_dir):  # released however the search ends
        print(
            f"Experiment {name}: {exp.split_sizes} images (train/val/test) of "
            f"{len(exp.classes)} classes ({', '.join(exp.classes)}), manifest "
            f"in {exp_dir / 'manifest.csv'}"
        )
        return search(exp_dir, exp, space, args, epoch_scheduler)


def search(exp_dir: Path, exp: Settings, space, args, epoch_scheduler) -> int:
    """A new experiment's search, run and its results written."""
    from tune.engine.search import make_tuner  # imports Ray: only after start_ray has set it up

    run = RunContext.for_experiment(
        exp_dir, experiment.ray_path(exp_dir), exp, args.time_budget, args.log_every
    )
    data = trial_inputs.trial_data(exp_dir, features=False)
    tuner = make_tuner(
        space, exp.trial_settings, data, run, args.seed, args.verbose, epoch_scheduler
    )
    return fit_and_write(tuner, run, exp, args.time_budget)


def photos_for(args, space, size: int):
    """The data set decoded at the baseline's model's size, checked against the space's batches."""
    data = prepare(
        resolve_data_root(args.data_root),
        args.dataset or space.dataset,
        size,
        args.seed,
        getattr(space, "subset_per_class", None),
    )
    check_batch_sizes(space, data.sizes()["train"])
    return data


def say_precision(exp: Settings) -> None:
    print(
        f"Trials compute in {precision.Precision(**exp.trial_settings.precision).describe()}"
        f" ({exp.precision['isa']} CPU, native bf16: "
        f"{'yes' if precision.native_bf16() else 'no'}; "
        f"--precision {exp.precision['requested']}); {exp.max_concurrent} at a time"
    )


def refuse_existing(exp_dir: Path, name: str, results_dir: str) -> None:
    """A new search never writes into an experiment that exists, running or not."""
    lock.refuse_if_running(exp_dir, name)  # a live driver's experiment is running, not interrupted
    if (exp_dir / "experiment.json").is_file() and not experiment.settings(exp_dir).finished:
        raise UsageError(
            f"experiment {name} in {results_dir}/ was interrupted: continue it with "
            f"python -m tune.run --resume --name {name}"
        )
    if exp_dir.exists():
        raise UsageError(f"experiment {exp_dir} already exists: pick another --name")


def new_settings(args, space, space_name: str, name: str, data, **run) -> Settings:
    """experiment.json's settings of a new search; `run`: what main found out about this run."""
    budget = budget_of(args, space)
    return Settings(
        name=name,
        space=space_name,
        # a space file is copied into the experiment: --resume, promote and report read the copy
        space_file=SPACE_COPY if search_spaces.is_file(args.space) else None,
        model=space.model,
        dataset=args.dataset or space.dataset,
        dataset_dir=str(data.dataset_dir.resolve()),
        classes=data.classes,  # label = index
        split_sizes=data.sizes(),
        budget=budget,
        grace_period=search_spaces.grace_period(space, budget),
        seed=args.seed,
        cpus_per_trial=args.cpus_per_trial,
        address=args.address,
        precision={
            **precision.choose(args.precision or "auto", space.model).as_dict(),  # the baseline's
            "requested": args.precision or "auto",
            **precision.cpu_capabilities(),
        },
        baseline=space.baseline,
        keep_checkpoints=args.keep_checkpoints,
        **run,
    )


def budget_of(args, space) -> int:
    """A trial's budget: --max-passes, or the space's."""
    return args.max_passes or space.max_passes


def trial_settings(args, space, data, sizes: dict, sources: dict, scheduler: str) -> TrialSettings:
    """What every trial shares; saved so that --resume rebuilds the same trainable."""
    requested = args.precision or "auto"
    return TrialSettings(
        model=space.model,
        classes=data.classes,
        budget=budget_of(args, space),
        seed=args.seed,
        # halving: a trial's budget is passes over the training split; the baseline, its schedule
        budget_unit=budget_unit(scheduler),
        baseline=space.baseline,
        cpus_per_trial=args.cpus_per_trial,
        precision=precision.choose(requested, space.model).as_dict(),
        imagenet="imagenet" in values_of(space, "weights"),
        # per model a trial may build
        inputs={
            model: model_inputs(space, model, size, requested, sources.get(model))
            for model, size in sizes.items()
        },
    )


def model_inputs(space, model: str, size: int, requested: str, source: dict | None) -> ModelInputs:
    """One model's inputs: its decoded images, the fastest precision measured for it on this
    CPU, where its ImageNet weights come from, and the cache of its activations that the first
    trial drawing it frozen builds (training/features.py load_or_build) while others train."""
    cached = needs_feature_cache(space, model)
    return ModelInputs(
        image_size=size,
        tensors_file=f"images_{size}.pt",
        precision=precision.choose(requested, model).as_dict(),
        weights=source,
        # a timm model's "timm/NAME" as "timm-NAME": one file, not a folder
        features_file=f"features_{model.replace('/', '-')}_{size}.pt" if cached else None,
        cut_stages=cut_stages(space, model) if cached else 0,
    )


def stage_whole(staging: Path, space, data, exp: Settings, results_dir: str):
    """The new experiment's files written into its staging folder, locked; returns the lock.
    A failed write (a full disk) leaves no half experiment, and nothing to resume."""
    name = exp.name
    lock.refuse_if_running(staging, name)  # another driver still preparing this name
    shutil.rmtree(staging, ignore_errors=True)
    held = None
    try:
        staging.mkdir(parents=True)
        held = lock.take(staging, name)  # the folder's first file, renamed with it
        stage(staging, space, data, exp)
        return held
    except Exception as error:
        failed = disk.failed_write(error)
        if failed is None and not held:
            raise  # another driver's lock: its staging folder, not ours
        if held:
            held.release()
        shutil.rmtree(staging, ignore_errors=True)
        if failed is None:
            raise
        raise WriteFailed(
            f"could not write experiment {name} into {results_dir} "
            f"({failed.reason}; {disk.megabytes(disk.free_space(results_dir))} "
            f"free there, the search needs about {disk.megabytes(exp.space_needed)}): "
            f"nothing was kept; free space there and run it again"
        ) from None


def stage(staging: Path, space, data, exp: Settings) -> None:
    """Write a new experiment's files into its staging folder (renamed into place once whole):
    the manifest, the decoded images per input size, experiment.json."""
    write_atomic(staging / "manifest.csv", data.manifest.to_csv(index=False))
    if exp.space_file:
        shutil.copyfile(space.__file__, staging / exp.space_file)
    for inputs in exp.trial_settings.inputs.values():  # one size's images at a time in memory
        if not (staging / inputs.tensors_file).exists():
            save_tensors(data.at_size(inputs.image_size), staging / inputs.tensors_file)
    write_json(staging / "experiment.json", exp.as_json())


def resume(args) -> int:
    if not args.name:
        raise UsageError("--resume needs --name EXPERIMENT")
    exp_dir = experiment.find(args.results_dir, args.name)
    with lock.take(exp_dir, args.name):  # before anything else touches the experiment
        return resume_held(args, exp_dir)


def other_settings(args, exp: Settings) -> list[str]:
    """What --resume was given that the experiment did not run with: each a flag and both values."""
    asked = {  # flag: (given now, what the experiment ran with)
        "--space": (args.space, exp.space),
        "--dataset": (args.dataset, exp.dataset),
        "--num-samples": (args.num_samples, exp.num_samples),
        "--max-passes": (args.max_passes, exp.budget),
        "--seed": (args.seed if args.seed_given else None, exp.seed),
    }
    differences = [
        f"{flag} {given} (it ran with {recorded})"
        for flag, (given, recorded) in asked.items()
        if given is not None and given != recorded
    ]
    recorded = exp.precision.get("requested", "auto")
    if args.precision and args.precision != recorded:
        differences.append(f"--precision {args.precision} (it ran with {recorded})")
    if args.storage and storage_of(args) != exp.storage:
        differences.append(
            f"--storage {args.storage} (it ran with {exp.storage or 'its own ray/ folder'})"
        )
    return differences


def resume_held(args, exp_dir: Path) -> int:
    """--resume, with the experiment's lock held: no second driver can run it meanwhile."""
    exp = experiment.settings(exp_dir)
    differences = other_settings(args, exp)
    if differences:
        raise UsageError(
            f"experiment {args.name} cannot resume with other settings: {'; '.join(differences)}; "
            f"leave them out, or start a new experiment"
        )
    if exp.finished:
        print(
            f"Experiment {args.name} already finished ({len(experiment.trials_table(exp_dir))} "
            f"trials); nothing to resume. Its results: {exp_dir}/summary.md"
        )
        return 0
    if exp.scheduler != "halving":
        raise UsageError(
            f"experiment {args.name} was searched by Ray's async ASHA (the scheduler before, now "
            f"only benchmarks/old_asha.py's), which cannot resume: read it with tune.trials, "
            f"tune.report or tune.promote, or start a new experiment"
        )
    connect(args.address, exp.cpus_per_trial, exp.storage, exp_dir.parent, args.verbose)
    if not experiment.has_ray_state(exp_dir):
        raise UsageError(
            f"experiment {args.name} stopped before Ray saved any state "
            f"in {experiment.ray_path(exp_dir)}: delete {exp_dir} and start it again"
        )
    damaged = experiment.set_aside_damaged_state(exp_dir)  # Ray would "restart" it empty
    if damaged:
        print(
            f"Ray's latest experiment state was damaged (half-written): set aside as {damaged}; "
            f"resuming from the one before"
        )
    from tune.engine.search import restore_tuner

    print(f"Resuming experiment {args.name} from {experiment.ray_path(exp_dir)}")
    run = RunContext.for_experiment(
        exp_dir, experiment.ray_path(exp_dir), exp, args.time_budget, args.log_every
    )
    tuner = restore_tuner(
        run, exp.trial_settings, trial_inputs.trial_data(exp_dir, features=False), args.verbose
    )
    return fit_and_write(tuner, run, exp, args.time_budget)


def fit_and_write(tuner, run: RunContext, exp: Settings, time_budget: float | None) -> int:
    """Run the search; write results whatever happened; the exit code says what did."""
    from tune.engine import collector, search, write_guard

    exp_dir = run.exp_dir
    guard = write_guard.guard(tuner)  # Ray's state written whole; the search ends at a failed write
    # SIGTERM (timeout, systemd, batch schedulers) stops the search as Ctrl-C does: Tune ends on
    # SIGUSR1 as on SIGINT, saving its state, and the results below are written.
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGUSR1))
    started, failure, failed = time.time(), None, None
    try:
        with collector.survivors_frozen():
            tuner.fit()
    except Exception as error:
        # Ray's controller gave up (e.g. its memory monitor killed a starting worker), or a
        # write failed (Optuna's SQLite, the rungs)
        failed = disk.failed_write(error)
        failure = None if failed else str(error).strip().splitlines()[0]
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    failed = failed or guard.found()
    if failed:
        write_guard.quiet_trial_errors()
        exp.wall_time_s += time.time() - started
        write_what_can_be_written(exp_dir, exp)
        raise WriteFailed(disk.failure_line(failed, exp_dir, run.ray_path, exp))
    exp.wall_time_s += time.time() - started
    opened = experiment.Experiment(exp_dir, exp, searching=False)  # Ray's state as it ended
    table = opened.table()
    kept = experiment.keeping_checkpoints(table, exp.keep_checkpoints)
    search.drop_what_ended_trials_no_longer_need(opened.analysis().trials, kept)
    # a plain bool: numpy's would be written as "False"
    exp.finished = bool(
        len(table) >= exp.num_samples
        and table["status"].isin(["COMPLETED", "STOPPED", "ERROR"]).all()
    )
    exp.ended_by = (
        "all trials"
        if exp.finished
        else f"Ray stopping it: {failure}"
        if failure
        else f"the time budget ({time_budget:g} min)"
        if run.ended_search
        else "an interruption"
    )
    write_all(opened, run.ended_search)
    return closing_words(exp_dir, exp, table, run.ended_search, failure, time_budget)


def write_all(opened: experiment.Experiment, ended_search: bool) -> None:
    """The search's results and report; a full disk as one line that says what to do."""
    from tune import study

    exp_dir, exp = opened.folder, opened.settings
    try:
        if not exp.finished:
            study.label_unfinished(
                exp_dir, "paused by the time budget" if ended_search else "interrupted"
            )
        write_results(opened)  # experiment.json last: unfinished until all is written
    except Exception as error:  # the disk filled up as the search ended: --resume writes them
        failed = disk.failed_write(error)
        if failed is None:
            raise
        raise WriteFailed(
            disk.failure_line(failed, exp_dir, experiment.ray_path(exp_dir), exp)
        ) from None
    try:
        write_report(exp_dir, opened)
    except Exception as error:
        failed = disk.failed_write(error)
        if failed is None:
            raise
        where = results_dir_flag(exp_dir.parent)
        free = disk.megabytes(disk.free_space(exp_dir))
        raise WriteFailed(
            f"the results of {exp.name} are written, but not its report: could "
            f"not write to {exp_dir} ({failed.reason}; {free} free there): free "
            f"space, then python -m tune.report {exp.name}{where}"
        ) from None


def closing_words(exp_dir, exp, table, ended_search, failure, time_budget) -> int:
    """What the search's end says, and its exit code."""
    resume_command = f"python -m tune.run --resume --name {exp.name}" + results_dir_flag(
        exp_dir.parent
    )
    no_pass = table.empty or (table["passes"] == 0).all()
    if exp.finished and (no_pass or (table["status"] == "ERROR").all()):
        errors = table["error"][table["error"] != ""] if "error" in table else []
        print(
            f"\n{'No trial finished an epoch: every' if no_pass else 'Every'} trial failed. "
            f"First error: {errors.iloc[0] if len(errors) else 'none recorded'} "
            f"(tracebacks: {exp_dir / 'ray'}/*/error.txt)"
        )
        return 1
    if ended_search:
        print(
            f"\nThe time budget of {time_budget:g} min ended the search; finished trials are kept, "
            f"the others paused after a pass. Continue it (optionally with a new --time-budget):\n"
            f"  {resume_command}"
        )
        return 0
    if failure:
        print(
            f"\nRay stopped the search: {failure}\nFinished trials are kept. Continue it "
            f"with:\n  {resume_command}"
        )
        return 1
    if not exp.finished:
        print(
            "\nThe search was interrupted; finished trials are kept. Continue it "
            f"with:\n  {resume_command}"
        )
        return 130
    return 0


def write_what_can_be_written(exp_dir: Path, exp: Settings) -> None:
    """After a failed write (a full disk): the results, as far as they can still be written, each
    file whole or not at all, quietly (the search ends with one line); the experiment stays
    unfinished, so that --resume continues it."""
    from tune import study

    exp.finished, exp.ended_by = False, "a failed write (a full disk?)"
    opened = experiment.Experiment(exp_dir, exp, searching=False)
    steps = [
        lambda: study.label_unfinished(exp_dir, "interrupted"),
        lambda: write_results(opened),
        lambda: write_report(exp_dir, opened),
    ]
    for step in steps:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                step()
        except Exception:  # still no space, or Ray's state unreadable: the line says what to do
            pass


def write_results(opened: experiment.Experiment) -> None:
    exp_dir, exp, table, best = opened.folder, opened.settings, opened.table(), opened.best_trial()
    write_atomic(exp_dir / "trials.csv", table.to_csv(index=False))
    if best:
        write_json(exp_dir / "best_config.json", best)
    write_atomic(exp_dir / "summary.md", summary_markdown(exp, table, best))
    write_json(exp_dir / "experiment.json", exp.as_json())
    print(f"\nResults in {exp_dir}/ (summary.md, trials.csv, best_config.json)")
    if best:
        print(
            f"Best trial {best['trial']} ({best['trial_id']}, epoch {best['epoch']}): val loss "
            f"{best['val_loss']:.4f}, val accuracy {percent(best['val_acc'])}\n  "
            f"config: {json.dumps(best['config'])}"
        )


if __name__ == "__main__":
    run_main(main)
