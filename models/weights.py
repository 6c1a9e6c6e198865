"""Where a pretrained model's ImageNet weights come from, resolved once by the driver before a
search: a file the user gives (`--weights-file`), the package that ships them (the
EfficientNet-Lites), or the library's own download into its cache where a network exists
(torchvision's for ResNet18, the Hugging Face hub's for timm models). Offline with nothing cached:
one line naming the file and where to put it, within seconds. The source (file, sha256, origin)
is recorded in experiment.json and in the promoted model.pt."""

import hashlib
import importlib.metadata
import os
import socket
import urllib.error
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
import timm
import torch

from models import efficientnet, resnet, zoo
from models.resnet import MissingWeightsError

TIMEOUT_S = 5  # to reach a download server before saying it cannot be reached


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def described(path, origin: str) -> dict:
    path = Path(path).resolve()
    return {"path": str(path), "sha256": sha256(path), "origin": origin}


def resolve(name: str, weights_file: str | None = None) -> dict:
    """{"path", "sha256", "origin"} of the ImageNet weights `name` will load, downloaded into the
    library's cache first if need be. Raises MissingWeightsError (one line) if there are none."""
    if weights_file:
        if not Path(weights_file).is_file():
            raise MissingWeightsError(f"--weights-file {weights_file}: no such file")
        return described(weights_file, "--weights-file")
    if name == "resnet18":
        return described(resnet_download(), f"torchvision {resnet.WEIGHTS.url}")
    if name in efficientnet.SHIPPED:
        package = efficientnet.SHIPPED[name].package
        origin = f"package {package} {importlib.metadata.version(package)}"
        return described(efficientnet.weights_path(name), origin)
    if zoo.is_timm(name):
        repo = zoo.pretrained_cfg(name).hf_hub_id
        return described(hub_download(name), f"Hugging Face hub {repo}")
    raise MissingWeightsError(f"{name} has no ImageNet weights to load")


def reachable(url: str) -> bool:
    host = urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=TIMEOUT_S).close()
        return True
    except OSError:
        return False


def resnet_download() -> Path:
    """torchvision's file in torch hub's cache, downloaded there (and checked) if not yet."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(resnet.WEIGHTS.url).name
    if not path.is_file() and reachable(resnet.WEIGHTS.url):
        try:
            resnet.WEIGHTS.get_state_dict(progress=False, check_hash=True)
        except (urllib.error.URLError, OSError, RuntimeError):
            pass  # said below, with where to put the file
    return resnet.imagenet_weights_path(None)


def hub_download(name: str) -> Path:
    """A timm model's weights file in the Hugging Face cache, downloaded there if not yet."""
    repo = zoo.pretrained_cfg(name).hf_hub_id
    if not repo:
        raise MissingWeightsError(
            f"timm has no pretrained weights for {zoo.architecture(name)}: pass --weights-file PATH"
        )
    files = ("model.safetensors", "pytorch_model.bin")
    for filename in files:
        cached = huggingface_hub.try_to_load_from_cache(repo, filename)
        if isinstance(cached, str):
            return Path(cached)
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    if not offline and reachable(huggingface_hub.constants.ENDPOINT):
        for filename in files:
            try:
                return Path(huggingface_hub.hf_hub_download(repo, filename))
            except huggingface_hub.errors.EntryNotFoundError:
                continue
    raise MissingWeightsError(
        f"ImageNet weights for {name} ({repo}) are not in the Hugging Face cache "
        f"({huggingface_hub.constants.HF_HUB_CACHE}) and the hub cannot be reached from here: "
        f'fetch them where it can (python -c "import timm; timm.create_model('
        f"'{zoo.architecture(name)}', pretrained=True)\") and copy that cache here, or pass "
        "--weights-file PATH"
    )


def imagenet_state(name: str, path: str | Path) -> dict:
    """The weights in `path` as the model's own state dict (timm reads its own formats)."""
    if not zoo.is_timm(name):  # torchvision's file, or a Lite package's (matched by position)
        return torch.load(path, map_location="cpu", weights_only=True)
    net = timm.create_model(
        zoo.architecture(name), pretrained=True, pretrained_cfg_overlay={"file": str(path)}
    )
    return net.state_dict()
