"""The number format and memory layout a model computes in, chosen for the CPU it runs on.

bf16 autocast pays only where the CPU computes bf16 natively (AVX-512 BF16 or AMX): there the
report's CNN and ResNet18 train 1.5-2.4x faster; elsewhere torch emulates bf16 and it is ~5x
*slower* than fp32 (benchmarks/README.md). channels_last is a measured rule, not a probe: with
bf16 it was faster for both networks on every thread count measured; in fp32 it was faster in
some cases and slower in others, so fp32 keeps NCHW. Weights, the loss, metrics and checkpoints
stay fp32 whatever is chosen: autocast only changes the arithmetic inside the forward pass.
"""

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
    caps = cpu_capabilities()
    return caps["avx512_bf16"] or caps["amx_bf16"]


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


def choose(requested: str = "auto") -> Precision:
    """`--precision`: auto picks bf16 + channels_last where bf16 is native, fp32 + NCHW elsewhere.
    An explicit bf16 is honoured even where it is emulated (the user asked for it)."""
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {requested!r}")
    bf16 = native_bf16() if requested == "auto" else requested == "bf16"
    return Precision("bf16", True) if bf16 else Precision("fp32", False)


def usable(saved: dict | None) -> tuple[Precision, str | None]:
    """A recorded choice, made usable on this CPU: bf16 falls back to fp32 where it would be
    emulated (same weights, ~5x faster here). Returns (precision, note or None)."""
    precision = Precision(**saved) if saved else Precision()
    if precision.dtype == "bf16" and not native_bf16():
        return Precision(
            "fp32", False
        ), "this CPU has no native bf16: computing in fp32 instead of the recorded bf16"
    return precision, None
