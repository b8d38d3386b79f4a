"""rebuild-redis: Redis only indexes SQL; each area registers how to rebuild its own structures.

A rebuilder is `fn(progress) -> int`: it rebuilds everything it owns from SQL, calls `progress(n)`
as it goes, and returns how many keys it wrote.
"""
from collections.abc import Callable

REBUILDERS: dict[str, Callable] = {}


def register(name: str, rebuild: Callable) -> None:
    """Make `rebuild-redis` rebuild an area's structures (call once, at import time)."""
    REBUILDERS[name] = rebuild
