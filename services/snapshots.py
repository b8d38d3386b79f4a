"""Process-local copies of rarely changed configuration (sign-in rules, levels) for hot reads.

A copy is reloaded from SQL once it is SECONDS old, and at once in the process whose commit changed
it; other processes see a change within SECONDS. Only what a member is shown reads a copy (the
rewards ahead, make-up cards left): what is paid or charged always reads SQL.
"""
import time
from collections.abc import Callable

from flask import current_app

from services.db import after_commit

SECONDS = 10


def get(name: str, load: Callable[[], object]):
    """The copy called `name`, loaded with `load()` when missing or old."""
    copies = current_app.extensions.setdefault("snapshots", {})
    entry = copies.get(name)
    if entry is None or entry[0] <= time.monotonic():
        entry = copies[name] = (time.monotonic() + SECONDS, load())
    return entry[1]


def changed(name: str) -> None:
    """The current transaction changes what `name` copies: drop this process's copy once it commits."""
    copies = current_app.extensions.setdefault("snapshots", {})
    after_commit("snapshots", name, lambda names: [copies.pop(n, None) for n in names])
