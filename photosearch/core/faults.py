"""A test hook, and nothing else: PHOTOSEARCH_FAULT_AFTER="N STEP" makes this process kill itself
(SIGKILL: no cleanup, no finally, as a power cut or `kill -9` would) the N-th time it reaches the
named step. The fault-injection tests and the soak (benchmarks/load.py --soak) set it to prove that
a file action interrupted at any point leaves every photo in place or journalled where it went.

Steps (core/duplicates): apply-intent (the journal says a file will move; it has not), apply-moved
(it moved; the journal does not say so yet), copy-synced (a copy to another drive is whole; the
original is still there), copy-unlinked (the original is gone, the copy has its temporary name),
apply-done; the same with undo- for an undo. Unset (always, outside tests), it costs one lookup.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def point(step: str) -> None:
    spec = os.environ.get("PHOTOSEARCH_FAULT_AFTER")
    if not spec:
        return
    n, _, name = spec.partition(" ")
    if name != step:
        return
    _counts[step] = _counts.get(step, 0) + 1
    if _counts[step] == int(n):
        os.kill(os.getpid(), signal.SIGKILL)
