"""Networks built from a trial's config. Knows nothing about data or Ray.

Each model says which input it expects (image size, normalisation), so the data step and the
final evaluation prepare images the same way the trials did.
"""

from data_utils.transforms import normalization_of
from models import efficientnet, weights, zoo
from models.efficientnet import MissingPackageError, efficientnet_lite
from models.outputs import logits_for
from models.resnet import MissingWeightsError, imagenet_weights_path, resnet18
from models.seed_cnn import SeedCNN


class WithZoo(dict):
    """A table by model name that also answers for any timm model ("timm/<architecture>",
    models/zoo.py) through `for_timm`."""

    def __init__(self, table: dict, for_timm):
        super().__init__(table)
        self.for_timm = for_timm

    def __missing__(self, name):
        if zoo.is_timm(name):
            return self.for_timm(name)
        raise KeyError(name)

    def __contains__(self, name) -> bool:
        return super().__contains__(name) or zoo.is_timm(name)

    def get(self, name, default=None):
        return self[name] if name in self else default


def timm_inputs(name: str) -> tuple[int, str]:
    cfg = zoo.pretrained_cfg(name)
    return cfg.input_size[-1], normalization_of(cfg.mean, cfg.std)


# name -> (default image size, normalisation)
INPUTS = WithZoo(
    {
        "seed_cnn": (256, "half"),
        "resnet18": (224, "imagenet"),
        **{
            name: (shipped.size, "imagenet") for name, shipped in efficientnet.SHIPPED.items()
        },  # Lite0, 1, 2
    },
    timm_inputs,
)


def dropout_rates(config: dict) -> tuple[float, float]:
    """The rate before and after fc1 that `dropout_placement` switches on (0 where it is off)."""
    placement = config.get("dropout_placement", "none")
    before = config.get("dropout_before_fc1", 0.0) if placement in ("before_fc1", "both") else 0.0
    after = config.get("dropout_after_fc1", 0.0) if placement in ("after_fc1", "both") else 0.0
    return before, after


def check_pretrained_weights(
    name: str, weights_values: set, weights_file: str | None = None
) -> dict | None:
    """The source of the ImageNet weights `name` will load (models/weights.py), downloaded
    first where it must and can be: so a search fails before it starts, not in its trials, when
    they are missing. None where no trial loads any."""
    if "imagenet" not in weights_values or name == "seed_cnn":
        return None
    return weights.resolve(name, weights_file)


# Models whose frozen backbone can be replaced by cached pooled features (training/features.py):
# name -> (pooled features of a batch, the head's logits on pooled features)
CACHED_FEATURES = WithZoo(
    {name: (efficientnet.features, efficientnet.head_logits) for name in efficientnet.SHIPPED},
    lambda name: (zoo.features, zoo.head_logits),
)


# Models whose last stages can train on cached activations of the frozen rest (PartialBackbone):
# name -> its number of stages, (the input of a stage and the pooled features, in one pass)
PARTIAL = {name: (7, efficientnet.activations) for name in efficientnet.SHIPPED}


# Where a pretrained model's new head is (its parameter names start so): the rest is the backbone.
HEADS = WithZoo(
    {"resnet18": "net.fc.", **{name: "net.classifier." for name in efficientnet.SHIPPED}},
    zoo.head_prefix,
)


def imagenet_state(name: str, weights_file: str | None = None) -> dict | None:
    """A pretrained model's ImageNet weights as tensors (from `weights_file`, else where
    models/weights.py finds them), read once by the driver and handed to every trial (through
    Ray's object store), so no node needs the file."""
    if name == "seed_cnn":
        return None
    path = weights_file or weights.resolve(name)["path"]
    return weights.imagenet_state(name, path)


def build_model(
    name: str, config: dict, image_size: int, imagenet: dict | None = None, num_classes: int = 2
):
    """imagenet: the ImageNet weights from imagenet_state(), for configs with weights "imagenet"
    (read from their default place when not given). One logit for two classes (the report's
    networks, as it built them), one per class for more (models/outputs.py)."""
    outputs = logits_for(num_classes)
    if name == "seed_cnn":
        before, after = dropout_rates(config)
        return SeedCNN(image_size, before, after, outputs)
    if name == "resnet18":
        weights, dropout = config.get("weights", "none"), config.get("dropout", 0.0)
        return resnet18(weights, dropout, imagenet, outputs)
    if name in efficientnet.SHIPPED:
        return efficientnet_lite(
            name,
            config.get("weights", "imagenet"),
            config.get("dropout", 0.0),
            config.get("freeze_backbone", False),
            imagenet=imagenet,
            outputs=outputs,
            unfrozen_stages=config.get("unfrozen_stages", 0),
        )
    if zoo.is_timm(name):
        return zoo.build(
            name,
            config.get("weights", "imagenet"),
            config.get("dropout", 0.0),
            config.get("freeze_backbone", False),
            imagenet,
            outputs,
        )
    raise ValueError(f"unknown model {name!r}; known: {', '.join(INPUTS)}, timm/<architecture>")


__all__ = [
    "CACHED_FEATURES",
    "HEADS",
    "INPUTS",
    "PARTIAL",
    "check_pretrained_weights",
    "MissingPackageError",
    "MissingWeightsError",
    "efficientnet_lite",
    "SeedCNN",
    "build_model",
    "dropout_rates",
    "imagenet_state",
    "imagenet_weights_path",
    "resnet18",
]
