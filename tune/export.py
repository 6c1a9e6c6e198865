"""Export a promoted model to ONNX: `python -m tune.export EXP` writes results/EXP/model.onnx, and
model.onnx.json beside it, so the model runs where there is no Python or no PyTorch.

The graph is the whole promoted model, not just a network: it takes the photos as decoded uint8
RGB (one input per input size of its members) and does inside what `predict` does after
decoding: to float, each member's normalisation, its probabilities, the mirrored view where flip
TTA was promoted, the members' weighted average. A user outside Python then has one thing to get
right, the decoding and resizing, which model.onnx.json describes. The file is kept only once
onnxruntime gives, on the experiment's own test photos, the probabilities PyTorch gives."""

import importlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from data_utils.images import decode_at_sizes
from data_utils.transforms import statistics
from models.outputs import probabilities
from training.precision import Precision
from tune import experiment, model_file
from tune.cli import ArgumentParser, run_main
from tune.errors import UsageError
from tune.results import save_atomic, write_json

FORMAT = "smoker-tune-onnx/1"
OUTPUT = "probabilities"
# Largest |onnxruntime - PyTorch| allowed in any class's probability of any test photo: float32
# reassociation in another runtime moves a probability by ~1e-7; 1e-4 is far above that and far
# below a difference that matters, such as a normalisation or a view that went missing.
TOLERANCE = 1e-4
BATCH = 32  # photos per onnxruntime call: bounds memory, and checks that the batch is dynamic
RESIZE = (
    "Decode the file with Pillow (JPEG: draft mode first, which lets the decoder shrink a large "
    "photo by 1/2, 1/4 or 1/8 while it stays at least size x size), convert to RGB (grey, "
    "palette and RGBA alike; alpha is dropped, EXIF orientation is not applied), resize to "
    "size x size with Pillow's BILINEAR filter (shrinking, it averages every source pixel "
    "covered: not OpenCV's INTER_LINEAR), ignoring the aspect ratio (no crop, no padding), "
    "and lay the uint8 values out as channels x height x width (0-255, no scaling). This is "
    "data_utils.images.load_image, what the model was trained, tested and promoted on."
)


class Mismatch(Exception):
    """onnxruntime and PyTorch disagree on the test photos: the export is not kept."""


def parse_args(argv):
    p = ArgumentParser(
        prog="python -m tune.export",
        description="Write an experiment's promoted model as one ONNX graph, checked with "
        "onnxruntime on the experiment's test photos.",
    )
    p.add_argument("experiment", help="experiment name (a folder of --results-dir)")
    p.add_argument("--results-dir", default="results")
    p.add_argument(
        "--output", help="where to write the graph (default: model.onnx in the experiment folder)"
    )
    return p.parse_args(argv)


def input_name(size: int) -> str:
    return f"images_{size}"


class ToFloat(nn.Module):
    """data_utils.transforms.to_float in the graph: uint8 to [0, 1], then the member's
    normalisation ((x - mean) / std per channel, as torchvision's normalize computes it)."""

    def __init__(self, normalization: str):
        super().__init__()
        mean, std = statistics(normalization)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() / 255 - self.mean) / self.std


class Graph(nn.Module):
    """The promoted model as one forward pass, computing what Promoted.logits and
    models.outputs.probabilities compute, from uint8 photos: images[i] is the batch at the i-th
    of `sizes`, the same photos in the same order at every size."""

    def __init__(self, promoted: model_file.Promoted):
        super().__init__()
        self.sizes, self.hflip_tta = promoted.image_sizes, promoted.hflip_tta
        self.nets = nn.ModuleList(model for model, _, _ in promoted.members)
        self.to_float = nn.ModuleList(ToFloat(norm) for _, _, norm in promoted.members)
        self.inputs = [self.sizes.index(size) for _, size, _ in promoted.members]
        views = 2 if self.hflip_tta else 1  # each view weighs as much as its member
        weights = [weight for weight in promoted.weights for _ in range(views)]
        self.register_buffer("weights", torch.tensor(weights)[:, None, None])

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        outputs = []
        for net, to_float, i in zip(self.nets, self.to_float, self.inputs, strict=True):
            x = images[i]
            for view in [x, x.flip(-1)] if self.hflip_tta else [x]:  # flip: mirror the width
                outputs.append(probabilities(net(to_float(view))))
        # models.ensemble.average, stopping at the probabilities it turns back into logits
        return (torch.stack(outputs) * self.weights).sum(0) / self.weights.sum()


def require_packages():
    """The onnx and onnxruntime modules (an optional extra), looked for before anything else is
    read, or a one-line error saying how to install them."""
    try:
        return importlib.import_module("onnx"), importlib.import_module("onnxruntime")
    except ImportError as error:
        raise UsageError(
            f"tune.export needs the {error.name} package: pip install -e '.[export]'"
        ) from None


def promoted_model(exp_dir: Path, experiment_name: str) -> tuple[model_file.Promoted, dict]:
    """The experiment's model.pt, computing in fp32 whatever the search trained in: bf16 autocast
    is not in the graph, and fp32 is what it is checked against (the memory layout stays)."""
    path = exp_dir / "model.pt"
    if not path.is_file():
        raise UsageError(
            f"{path}: no promoted model yet: run python -m tune.promote {experiment_name} first"
        )
    promoted, saved = model_file.load(path)
    promoted.precision = Precision("fp32", promoted.precision.channels_last)
    return promoted, saved


def load_test_photos(exp_dir: Path, sizes: list[int]) -> dict[int, torch.Tensor]:
    """{size: the experiment's test photos decoded at that size}, as tune.promote tested them."""
    dataset_dir = Path(experiment.settings(exp_dir).dataset_dir)
    manifest = pd.read_csv(exp_dir / "manifest.csv")
    test = manifest[(manifest["split"] == "test") & (manifest["status"] == "ok")]
    paths = [dataset_dir / p for p in test["path"]]
    missing = [p for p in paths if not p.is_file()]
    if test.empty or missing:
        raise UsageError(
            f"{dataset_dir}: the experiment's test photos, which the export is checked on, are "
            f"not there ({len(missing)} of {len(paths)} missing): put the data set back there"
        )
    by_size, _, errors = decode_at_sizes(paths, sizes, say=lambda _: None)
    if errors:
        raise UsageError(f"{dataset_dir}: {len(errors)} test photo(s) no longer decode")
    return by_size


def write_graph(graph: Graph, path: Path, metadata: dict) -> None:
    """The graph as ONNX at `path`, batch size dynamic, `metadata` in its metadata_props.

    Through torch.onnx's TorchScript exporter (dynamo=False), not its default torch.export one,
    as measured on this project's networks with torch 2.14: the latter needs onnxscript besides
    onnx, exports 3-6x slower (45 s against 12 s for a Lite0 + Lite1 ensemble), and its graph of
    a seed CNN with more than two classes does not load in onnxruntime (the network's squeeze(1)
    of its N x C logits stays a Squeeze of a dimension that is not 1). The TorchScript one
    exports every network the project builds to within 7e-7 of PyTorch."""
    import onnx

    names = [input_name(size) for size in graph.sizes]
    example = tuple(torch.zeros(2, 3, size, size, dtype=torch.uint8) for size in graph.sizes)
    with warnings.catch_warnings():
        # the exporter's own notes (that it is the TorchScript one; a squeeze of a dimension
        # that is not 1, which it drops): whether the graph is right is what `check` measures
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            example,
            str(path),
            input_names=names,
            output_names=[OUTPUT],
            dynamic_axes={name: {0: "batch"} for name in [*names, OUTPUT]},
            opset_version=17,
            dynamo=False,
        )
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {k: json.dumps(v) for k, v in metadata.items()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def check(path: Path, images: dict, expected: torch.Tensor) -> dict:
    """onnxruntime's probabilities on the test photos against PyTorch's; raises Mismatch."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = np.concatenate(
        [
            session.run(
                [OUTPUT],
                {input_name(s): x[i : i + BATCH].numpy() for s, x in images.items()},
            )[0]
            for i in range(0, len(expected), BATCH)
        ]
    )
    want = expected.numpy()
    found = {
        "photos": len(want),
        "max_abs_difference": float(np.abs(got - want).max()),
        "tolerance": TOLERANCE,
        "labels_differing": int((got.argmax(1) != want.argmax(1)).sum()),
    }
    if found["max_abs_difference"] > TOLERANCE or found["labels_differing"]:
        raise Mismatch(
            f"onnxruntime and PyTorch disagree on the {found['photos']} test photos (max "
            f"difference {found['max_abs_difference']:.2e} in a probability, tolerance "
            f"{TOLERANCE:.0e}; {found['labels_differing']} label(s) differ)"
        )
    return found


def described(promoted: model_file.Promoted, saved: dict, output: Path, checked: dict) -> dict:
    """model.onnx.json: what a program outside Python needs to feed the graph and read it."""
    return {
        "format": FORMAT,
        "model": output.name,
        "source": {"model_file": "model.pt", **saved.get("source", {})},
        "classes": promoted.classes,
        "inputs": [
            {
                "name": input_name(size),
                "size": size,
                "shape": ["N", 3, size, size],
                "layout": "NCHW",
                "dtype": "uint8",
                "channels": "RGB",
                "resize": f"to {size} x {size}, bilinear, as `preprocessing` says",
            }
            for size in promoted.image_sizes
        ],
        "preprocessing": RESIZE,
        "feed": "the same N photos, in the same order, to every input",
        "output": {
            "name": OUTPUT,
            "shape": ["N", len(promoted.classes)],
            "dtype": "float32",
            "meaning": "each class's probability, in the order of `classes`; a row sums to 1",
        },
        "inside_the_graph": (
            "to float / 255, each member's normalisation, its probabilities (sigmoid of one "
            "logit for two classes, softmax for more), "
            + ("the photo and its mirror image (flip TTA), " if promoted.hflip_tta else "")
            + f"the weighted mean over {len(promoted.members)} member(s) "
            f"(weights {promoted.weights})"
        ),
        "checked": {"against": "PyTorch, fp32, the experiment's test photos", **checked},
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    require_packages()
    exp_dir = experiment.find(args.results_dir, args.experiment)
    output = Path(args.output) if args.output else exp_dir / "model.onnx"
    promoted, saved = promoted_model(exp_dir, args.experiment)
    images = load_test_photos(exp_dir, promoted.image_sizes)
    expected = probabilities(promoted.logits(images.get))
    metadata = {
        "format": FORMAT,
        "classes": promoted.classes,
        "inputs": [{"name": input_name(s), "size": s} for s in promoted.image_sizes],
    }
    checked = {}

    def write_and_check(tmp: Path) -> None:
        write_graph(Graph(promoted).eval(), tmp, metadata)
        checked.update(check(tmp, images, expected))

    try:
        save_atomic(output, write_and_check)
    except Mismatch as error:
        print(f"error: {error}: {output} not written", file=sys.stderr)
        return 1
    write_json(output.with_name(output.name + ".json"), described(promoted, saved, output, checked))
    print(
        f"onnxruntime vs PyTorch (fp32) on {checked['photos']} test photos: max difference "
        f"{checked['max_abs_difference']:.2e} in a probability (tolerance {TOLERANCE:.0e}), "
        f"{checked['labels_differing']} label(s) differ"
    )
    print(f"Wrote {output} and {output.name}.json beside it")
    return 0


if __name__ == "__main__":
    run_main(main)
