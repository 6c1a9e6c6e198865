"""The garbage collector during a search (tune/engine/collector.py): what survives a full pass is
frozen out of the next ones, garbage is not, and the collector is left as it was found."""

import gc
import weakref

from tune.engine import collector


class Node:
    """A tracked object that can hold a reference cycle."""


def test_what_survives_a_full_pass_during_a_search_is_left_out_of_the_next_passes():
    thresholds = gc.get_threshold()
    with collector.survivors_frozen():
        assert gc.get_threshold() == (*thresholds[:2], collector.FULL_PASS_EVERY)  # shorter
        alive = [Node() for _ in range(1000)]
        cycle = Node()
        cycle.me = cycle
        garbage = weakref.ref(cycle)
        del cycle
        frozen = gc.get_freeze_count()
        gc.collect()  # a full pass, as Python's own when the long-lived objects grow
        assert garbage() is None  # collected, not frozen
        assert gc.get_freeze_count() >= frozen + len(alive)
        assert not any(obj is alive[0] for obj in gc.get_objects())  # no pass scans it again
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    assert collector._freeze_survivors not in gc.callbacks


def test_a_cycle_frozen_alive_is_freed_when_the_search_ends():
    with collector.survivors_frozen():
        cycle = Node()
        cycle.me = cycle
        freed = weakref.ref(cycle)
        gc.collect()
        del cycle
        gc.collect()
        assert freed() is not None  # the price: kept until the search ends
    gc.collect()
    assert freed() is None
