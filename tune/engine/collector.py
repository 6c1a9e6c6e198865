"""Python's garbage collector in the driver of a long search.

A full pass of the collector stops the driver's loop for as long as it takes to scan every object
it tracks, in whichever scheduler or searcher call it falls, and a search only adds objects (Ray's
trials and their results, Optuna's trials). So what lives for the whole search (the modules, Ray,
torch: ~600,000 objects) is frozen out of the passes before it starts, and whatever survives a
full pass while it runs is frozen too: each pass scans only what the search made since the last.
At 1,000 trials the passes during a search took 22 ms growing to 101 ms without the second rule,
10-16 ms with it, flat; 4-7 ms (but the first, 16 ms) with a full pass every 3 collections of the
middle generation instead of Python's 10: as much scanning in all, in shorter stops
(benchmarks/README.md, "Many trials").

An object frozen while alive that later becomes garbage in a reference cycle is freed only when
the search ends (the collector cannot see it before): ~220 objects at 1,000 trials.
"""

import contextlib
import gc

FULL_PASS_EVERY = 3  # collections of the middle generation between full passes (Python: 10)


def _freeze_survivors(phase: str, info: dict) -> None:
    """After a full pass, what is left is alive: out of the next passes with it."""
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


@contextlib.contextmanager
def survivors_frozen():
    """For the length of a search; everything is scanned again after it."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.callbacks.append(_freeze_survivors)
    gc.set_threshold(*thresholds[:2], FULL_PASS_EVERY)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
