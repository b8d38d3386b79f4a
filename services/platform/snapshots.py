"""Process-local copies of rarely changed configuration (sign-in rules, levels) for hot reads.

A copy is reloaded from SQL once it is SECONDS old, and at once in the process whose commit changed
it; other processes see a change within SECONDS. What a member is shown reads a copy (the rewards
ahead, make-up cards left); what is paid or charged reads SQL, unless the copy is exact by
construction (rules.in_force: the rules of a day are settled before it starts). What is worked out
from a copy can be kept with it (`derived`), and goes when the copy does.
"""
import time
from collections.abc import Callable, Hashable

from flask import current_app

from services.platform.db import after_commit

SECONDS = 10
DERIVED_LIMIT = 4096


def get(name: str, load: Callable[[], object]):
    """The copy called `name`, loaded with `load()` when missing or old."""
    return _entry(name, load)[1]


def derived(name: str, load: Callable[[], object], key: Hashable, compute: Callable[[object], object]):
    """compute(copy), kept with the copy under `key` until the copy is reloaded."""
    _, copy, kept = _entry(name, load)
    if key not in kept:
        if len(kept) >= DERIVED_LIMIT:
            kept.clear()
        kept[key] = compute(copy)
    return kept[key]


def changed(name: str) -> None:
    """The current transaction changes what `name` copies: drop this process's copy once it commits."""
    copies = current_app.extensions.setdefault("snapshots", {})
    after_commit("snapshots", name, lambda names: [copies.pop(n, None) for n in names])


def _entry(name: str, load: Callable[[], object]) -> tuple:
    copies = current_app.extensions.setdefault("snapshots", {})
    entry = copies.get(name)
    if entry is None or entry[0] <= time.monotonic():
        entry = copies[name] = (time.monotonic() + SECONDS, load(), {})
    return entry
