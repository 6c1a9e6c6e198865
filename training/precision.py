"""The number format and memory layout a model computes in, chosen for the CPU it runs on.

bf16 autocast pays only where the CPU computes bf16 natively (AVX-512 BF16 or AMX): there the
report's CNN and ResNet18 train 1.5-2.4x faster; elsewhere torch emulates bf16 and it is 5-20x
*slower* than fp32 (benchmarks/README.md). What `auto` takes is a table of measurements per kind
of CPU and model (MEASURED, from benchmarks/step_speed.py), not a probe at run time. Weights,
the loss, metrics and checkpoints stay fp32 whatever is chosen: autocast only changes the
arithmetic inside the forward pass.
"""

import os
from dataclasses import asdict, dataclass

import torch

CHOICES = ("auto", "fp32", "bf16")


def cpu_capabilities() -> dict:
    """What torch reports about this CPU: the vector ISA it dispatches to and native bf16
    support."""
    caps = torch.cpu.get_capabilities()
    return {
        "cpu": caps.get("cpu_name", "unknown"),
        "isa": torch.backends.cpu.get_cpu_capability(),
        "avx512_bf16": bool(caps.get("avx512_bf16")),
        "amx_bf16": bool(caps.get("amx_bf16")),
        "threads": torch.get_num_threads(),
    }


def native_bf16() -> bool:
    return cpu_class() != "no_native_bf16"


def cpu_class() -> str:
    """ "amx", "avx512_bf16" (native bf16 without AMX) or "no_native_bf16" (AVX2: bf16 emulated).
    ONEDNN_MAX_CPU_ISA below AMX (how users without AMX are imitated on a CPU that has it) counts
    as no AMX, since oneDNN then never uses it."""
    caps = cpu_capabilities()
    isa_cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    if caps["amx_bf16"] and (isa_cap in ("ALL", "DEFAULT") or "AMX" in isa_cap):
        return "amx"
    return "avx512_bf16" if caps["avx512_bf16"] or caps["amx_bf16"] else "no_native_bf16"


@dataclass(frozen=True)
class Precision:
    dtype: str = "fp32"  # "fp32" or "bf16" (autocast)
    channels_last: bool = False

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bf16")

    def model(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        return (
            x.contiguous(memory_format=torch.channels_last)
            if self.channels_last and x.dim() == 4
            else x
        )

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return f"{self.dtype}, {'channels_last' if self.channels_last else 'NCHW'}"


BF16_CL, FP32_CL, FP32 = Precision("bf16", True), Precision("fp32", True), Precision("fp32", False)

# What `auto` takes, per CPU class and model: the fastest training step in
# `python benchmarks/step_speed.py` (benchmarks/README.md, "Precision per model"). "*" is every
# model the class's run did not measure.
MEASURED = {
    # AMD EPYC, AVX-512 BF16, no AMX, 2026-11-29: the CNN 2.6x, ResNet18 2.5x faster in bf16 + CL.
    # The Lite models: an Intel Xeon with AMX capped at ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16,
    # 2026-12-04, 1 thread, fp32 CL -> bf16 CL (that Xeon had the CNN at 1.0-1.4x and ResNet18
    # at 0.7x in bf16: AMD's real no-AMX figures are kept for those two)
    "avx512_bf16": {
        "*": BF16_CL,
        "efficientnet_lite0": FP32_CL,  # 9.1 -> 6.0
        "efficientnet_lite1": FP32_CL,  # 2.7 -> 2.2 (at 320 px)
        "efficientnet_lite2": FP32_CL,  # 4.5 -> 2.8
    },
    # Intel Xeon with AMX, 2026-12-04, 1 thread, fp32 CL -> bf16 CL: the CNN 11.3 -> 21.9,
    # ResNet18 10.4 -> 29.0; the Lite models' depthwise convolutions gain nothing from bf16
    "amx": {
        "*": BF16_CL,
        "efficientnet_lite0": FP32_CL,  # 8.5 -> 6.0
        "efficientnet_lite1": FP32_CL,  # 2.7 -> 2.4 (at 320 px)
        "efficientnet_lite2": FP32_CL,  # 4.4 -> 3.3
    },
    # AMD EPYC, AVX2 only (bf16 emulated), 2026-12-04, training images/s on 1 thread, fp32 NCHW ->
    # fp32 channels_last (bf16 + channels_last, emulated, 0.2-0.8): channels_last won for every
    # model on 1 and 2 threads (an AVX2 Xeon of 2026-11-28 had it slower for the CNN: "*" stays
    # NCHW for a model not measured)
    "no_native_bf16": {
        "*": FP32,
        "seed_cnn": FP32_CL,  # 4.3 -> 6.1
        "resnet18": FP32_CL,  # 4.1 -> 4.5
        "efficientnet_lite0": FP32_CL,  # 4.1 -> 5.8
        "efficientnet_lite1": FP32_CL,  # 1.2 -> 1.9 (at 320 px)
        "efficientnet_lite2": FP32_CL,  # 2.5 -> 4.3
    },
}


def choose(requested: str = "auto", model: str | None = None) -> Precision:
    """`--precision`: auto takes what MEASURED says is fastest for `model` on this CPU's class.
    An explicit bf16 is honoured even where it is emulated (the user asked for it); an explicit
    fp32 computes in channels_last only where fp32 + channels_last was measured fastest."""
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {requested!r}")
    measured = MEASURED[cpu_class()]
    fastest = measured.get(model, measured["*"])
    if requested == "auto":
        return fastest
    if requested == "bf16":
        return BF16_CL
    return FP32_CL if fastest.channels_last and fastest.dtype == "fp32" else FP32


def usable(saved: dict | None) -> tuple[Precision, str | None]:
    """A recorded choice, made usable on this CPU: bf16 falls back to fp32 where it would be
    emulated (same weights, ~5x faster here). Returns (precision, note or None)."""
    precision = Precision(**saved) if saved else Precision()
    if precision.dtype == "bf16" and not native_bf16():
        return Precision(
            "fp32", False
        ), "this CPU has no native bf16: computing in fp32 instead of the recorded bf16"
    return precision, None
