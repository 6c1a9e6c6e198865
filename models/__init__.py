"""Networks built from a trial's config. Knows nothing about data or Ray.

Each model says which input it expects (image size, normalisation), so the data step and the
final evaluation prepare images the same way the trials did.
"""

from models import efficientnet, resnet
from models.efficientnet import MissingPackageError, efficientnet_lite
from models.outputs import logits_for
from models.resnet import MissingWeightsError, imagenet_weights_path, resnet18
from models.seed_cnn import SeedCNN

# name -> (default image size, normalisation)
INPUTS = {
    "seed_cnn": (256, "half"),
    "resnet18": (224, "imagenet"),
    **{
        name: (shipped.size, "imagenet") for name, shipped in efficientnet.SHIPPED.items()
    },  # Lite0, 1, 2
}


def dropout_rates(config: dict) -> tuple[float, float]:
    """The rate before and after fc1 that `dropout_placement` switches on (0 where it is off)."""
    placement = config.get("dropout_placement", "none")
    before = config.get("dropout_before_fc1", 0.0) if placement in ("before_fc1", "both") else 0.0
    after = config.get("dropout_after_fc1", 0.0) if placement in ("after_fc1", "both") else 0.0
    return before, after


def check_pretrained_weights(name: str, weights: set, weights_file: str | None = None) -> None:
    """Fail before a search starts, not in its trials, when pretrained weights it needs are
    missing."""
    if "imagenet" not in weights:
        return
    if name == "resnet18":
        imagenet_weights_path(weights_file)
    elif name in efficientnet.SHIPPED:
        efficientnet.weights_path(name)


# Models whose frozen backbone can be replaced by cached pooled features (training/features.py):
# name -> (pooled features of a batch, the head's logits on pooled features)
CACHED_FEATURES = {
    name: (efficientnet.features, efficientnet.head_logits) for name in efficientnet.SHIPPED
}


# Models whose last stages can train on cached activations of the frozen rest (PartialBackbone):
# name -> its number of stages, (the input of a stage and the pooled features, in one pass)
PARTIAL = {name: (7, efficientnet.activations) for name in efficientnet.SHIPPED}


# Where a pretrained model's new head is (its parameter names start so): the rest is the backbone.
HEADS = {"resnet18": "net.fc.", **{name: "net.classifier." for name in efficientnet.SHIPPED}}


def imagenet_state(name: str, weights_file: str | None = None) -> dict | None:
    """A pretrained model's ImageNet weights as tensors, read once by the driver and handed to
    every trial (through Ray's object store), so no node needs the file."""
    if name == "resnet18":
        return resnet.imagenet_state(weights_file)
    if name in efficientnet.SHIPPED:
        return efficientnet.imagenet_state(name)
    return None


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
    raise ValueError(f"unknown model {name!r}; known: {', '.join(INPUTS)}")


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
