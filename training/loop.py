"""The training loop, with no Ray in it: train on the train split, validate on the val split,
one pass over the training split at a time. The trial (tune/engine/trainable.py), promotion's
retraining and the benchmarks all use it.

`data` is {"train": (uint8 images, float labels), "val": (...)}, plus "imagenet" (the pretrained
weights) for a pretrained model, and "features" when the search cached a frozen backbone's
features (training/features.py): a trial whose config freezes that backbone then trains only
the head, on those features, in a fraction of the time.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim import lr_scheduler

from data_utils.transforms import add_rotated_copies, augment, to_float
from models import CACHED_FEATURES, HEADS, INPUTS, PARTIAL, build_model, outputs
from training import features as cached
from training.metrics import scores
from training.precision import Precision

# what a trial's checkpoint folder holds: the state train_passes yields
CHECKPOINT_FILE = "checkpoint.pt"
# what it keeps once its trial has ended (tune/engine/search.py): the weights and how far they
# trained, not what going on needs (Adam's moments, the random generators)
FINISHED_KEYS = ("model", "epoch", "passes")
# the default precision: plain fp32 (Precision is frozen, so one shared default is safe)
FP32 = Precision()


@dataclass(frozen=True)
class LoopSettings:
    """What one trial's training needs besides its config (tune/trial_inputs.py `for_trial`
    builds it from an experiment's settings)."""

    model: str
    image_size: int
    max_epochs: int  # the learning-rate schedule's length, and the budget unless max_passes
    seed: int = 0
    classes: int = 2  # the head's classes
    precision: Precision = FP32
    max_passes: int | None = None  # caps the passes (successive halving's equal images)


def uses_cached_features(config: dict, data: dict) -> bool:
    """A frozen backbone's head trains on the cached pooled features."""
    frozen = config.get("freeze_backbone") and not config.get("unfrozen_stages")
    return bool(frozen) and "features" in data


def uses_cached_activations(config: dict, data: dict) -> bool:
    """A partially fine-tuned backbone's last stages train on their cached input, where the
    cache reaches as far back as the trial trains."""
    stages = config.get("unfrozen_stages", 0) if config.get("freeze_backbone") else 0
    cache = data.get("features", {})
    return 0 < stages <= int(cache.get("cut_stages", 0))


def train_passes(config: dict, settings: LoopSettings, data: dict, state: dict | None = None):
    """Train, validate; yield (metrics, state) after each pass over the training split (an epoch,
    or a third of one with the offline rotated copies), where state (model, optimiser, random
    generators, passes done) is enough to continue exactly where it stopped."""
    torch.manual_seed(settings.seed)
    precision = settings.precision
    generator = torch.Generator().manual_seed(settings.seed)

    model = build_model(
        settings.model, config, settings.image_size, data.get("imagenet"), settings.classes
    )
    model = precision.model(model)
    optimizer = make_optimizer(model, config, settings.model)
    smoothing = config.get("label_smoothing", 0.0)

    train_set, batches, forward, validate = inputs(model, config, settings, data, generator)

    # A pass is one training split's worth of images (its size is the unit of a trial's budget):
    # an epoch over the report's offline rotated copies (3x the images) is three passes, each
    # reported on its own, so the scheduler can compare it with 1x trials after equal compute.
    pass_size = len(data["train"][1])
    copies = max(1, round(len(train_set) / pass_size))
    max_passes = settings.max_passes or settings.max_epochs * copies
    steps_per_epoch = math.ceil(len(train_set) / config["batch_size"])
    schedule = make_schedule(optimizer, config, steps_per_epoch, max_passes / copies)
    # after the training set is built: its offline copies are drawn from the fresh generator
    first_pass, order = 0, None
    if state:
        restore(state, model, optimizer, schedule, generator)
        first_pass = state.get("passes", state["epoch"] * copies)
        order = state.get("order")  # an epoch stopped between its passes goes on with its own order

    for done in range(first_pass, max_passes):
        part = done % copies
        if part == 0:
            order = torch.randperm(len(train_set), generator=generator)
        share = pass_share(order, part, pass_size, copies, config["batch_size"])
        model.train()
        train = train_pass(
            batches(share, config["batch_size"]), forward, optimizer, schedule, precision, smoothing
        )
        val_logits = validate()
        passes = done + 1
        saved = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": passes // copies,
            "passes": passes,
            **({"order": order} if passes % copies else {}),
            **({"schedule": schedule.state_dict()} if schedule else {}),
            "val_logits": val_logits,  # for cross-validation's out-of-fold predictions
        }
        val = scores(val_logits, data["val"][1])
        yield pass_metrics(passes, copies, pass_size, train, val), saved


def inputs(model, config: dict, settings: LoopSettings, data: dict, generator) -> tuple:
    """(training set, batches of it, forward, validate): from cached features or activations
    where the trial's frozen layers allow, from the photos otherwise."""
    if uses_cached_features(config, data) or uses_cached_activations(config, data):
        return cached_inputs(model, config, settings.model, data, generator, settings.precision)
    normalization = INPUTS[settings.model][1]
    return photo_inputs(model, config, normalization, data, generator, settings.precision)


def pass_share(order: torch.Tensor, part: int, pass_size: int, copies: int, batch_size: int):
    """The images of pass `part` of an epoch in `order`: the epoch's batches are cut as one
    epoch cuts them, and a pass takes those that start in its share."""
    starts = range(0, len(order), batch_size)
    starts = [s for s in starts if min(s // pass_size, copies - 1) == part]
    return order[starts[0] : starts[-1] + batch_size]


def pass_metrics(passes: int, copies: int, pass_size: int, train: tuple, val: dict) -> dict:
    """What a trial reports after a pass; `epoch` counts its own epochs (3 passes each with the
    offline rotated copies)."""
    return {
        "epoch": passes // copies if passes % copies == 0 else round(passes / copies, 3),
        "passes": passes,
        "train_images": passes * pass_size,
        "train_loss": train[0],
        "train_acc": train[1],
        "val_loss": val["loss"],
        "val_acc": val["accuracy"],
        "val_auc": val["auc"],
    }


def restore(state: dict, model, optimizer, schedule, generator) -> None:
    """Where a checkpoint's trial stopped: weights, Adam's moments, the schedule, and the random
    generators, so that it trains on exactly as if never interrupted."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if schedule:
        schedule.load_state_dict(state["schedule"])
    generator.set_state(state["generator"])
    if "torch_rng" in state:  # dropout masks continue as if never interrupted
        torch.set_rng_state(state["torch_rng"])


def train_pass(batches, forward, optimizer, schedule, precision, smoothing) -> tuple:
    """One pass's steps; returns its mean training loss and accuracy."""
    total_loss, correct, seen = 0.0, 0, 0
    for inputs, labels in batches:
        with precision.autocast():
            logits = forward(inputs).float()
        loss = outputs.loss(logits, labels, smoothing)  # in fp32, outside autocast
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if schedule:
            schedule.step()
        total_loss += loss.item() * len(labels)
        correct += (outputs.predicted(logits) == labels.long()).sum().item()
        seen += len(labels)
    return total_loss / seen, correct / seen


def photo_inputs(model, config: dict, normalization, data: dict, generator, precision):
    """(training set, batches, forward, validate) of a trial that trains on the photos, each
    augmented as it is drawn (with the report's offline rotated copies where config asks)."""
    train_x, train_y = data["train"]
    if config.get("offline_rotations"):
        train_x, train_y = add_rotated_copies(train_x, train_y, generator)

    def batches(order, batch_size):  # (inputs, labels): uint8 images, each randomly augmented
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            yield augment(train_x[index], config, generator), train_y[index]

    def forward(images):
        return model(precision.batch(to_float(images, normalization)))

    def validate():
        return predict_logits(model, data["val"][0], normalization, precision)

    return train_y, batches, forward, validate


def cached_inputs(model, config: dict, model_name: str, data: dict, generator, precision):
    """(training set, batches, forward, validate) of a trial that trains on cached activations
    (training/features.py): a frozen backbone's head on the pooled features, or a partial one's
    last stages on their cached input."""
    cache = data["features"]
    pooled = uses_cached_features(config, data)
    stages = config.get("unfrozen_stages", 0)
    source = "train" if pooled else cached.cut_key("train", stages)
    train_set = cached.TrainingViews(cache, data["train"][1], config, generator, source)
    if pooled:
        head_logits = CACHED_FEATURES[model_name][1]

        def forward(features):
            return head_logits(model, features)

        val_inputs = [cache["val"]]
    else:
        first = PARTIAL[model_name][0] - stages

        def forward(activations):
            return model.from_stage(precision.batch(activations.float()), first)

        val_inputs = cache[cached.cut_key("val", stages)].split(64)

    def batches(order, batch_size):  # (inputs, labels): the cached views drawn for each image
        for start in range(0, len(order), batch_size):
            yield train_set.batch(order[start : start + batch_size], generator)

    def validate():
        model.eval()
        with torch.no_grad(), precision.autocast():
            return torch.cat([forward(x).float() for x in val_inputs])

    return train_set, batches, forward, validate


def make_optimizer(model: nn.Module, config: dict, model_name: str) -> torch.optim.Optimizer:
    """Adam. A pretrained backbone being fine-tuned learns at `backbone_lr_ratio` x the rate of its
    new head, so that the head's first, large updates do not wreck what pretraining learned."""
    weight_decay = config.get("weight_decay", 0.0) if config.get("use_weight_decay", True) else 0.0
    ratio, head = config.get("backbone_lr_ratio", 1.0), HEADS.get(model_name)
    if ratio == 1.0 or head is None:
        return torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=weight_decay)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for name, p in named if name.startswith(head)]},
        {
            "params": [p for name, p in named if not name.startswith(head)],
            "lr": config["lr"] * ratio,
        },
    ]
    return torch.optim.Adam(
        [g for g in groups if g["params"]], lr=config["lr"], weight_decay=weight_decay
    )


def make_schedule(optimizer, config: dict, steps_per_epoch: int, max_epochs: float):
    """The learning rate per step: `warmup_epochs` of linear warm-up from 1% of it, then constant or
    (`lr_schedule` "cosine") decayed to 0 at the end of the trial's budget. None: the report's
    constant rate."""
    warmup = round(config.get("warmup_epochs", 0) * steps_per_epoch)
    ramp = (
        lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup) if warmup else None
    )
    if config.get("lr_schedule", "constant") != "cosine":
        return ramp  # LinearLR holds the full rate once warm
    decay = lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, round(max_epochs * steps_per_epoch) - warmup)
    )
    return (
        lr_scheduler.SequentialLR(optimizer, [ramp, decay], milestones=[warmup]) if ramp else decay
    )


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: torch.Tensor,
    normalization: str,
    precision: Precision = FP32,
    batch_size: int = 64,
) -> torch.Tensor:
    model.eval()
    logits = []
    for i in range(0, len(images), batch_size):
        with precision.autocast():
            logits.append(
                model(precision.batch(to_float(images[i : i + batch_size], normalization))).float()
            )
    return torch.cat(logits)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: str,
    precision: Precision = FP32,
) -> dict:
    return scores(predict_logits(model, images, normalization, precision), labels)
