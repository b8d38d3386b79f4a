"""The level policy applied to a member's growth entries, as a pure function.

The evaluation uses it for the growth a member earned after an evaluation's due time; audit-ledger
replays every member's entries and evaluations with it and compares the result with the level held.
"""
from bisect import bisect_left, bisect_right
from datetime import datetime
from itertools import accumulate

from services.levels import policy


class Growth:
    """A member's growth entries [(created_at, delta)] in id order, put in time order, with window sums."""

    def __init__(self, entries: list[tuple[datetime, int]]):
        self.entries = entries = sorted(entries, key=lambda entry: entry[0])
        self.times = [at for at, _ in entries]
        self.prefix = [0, *accumulate(delta for _, delta in entries)]

    def upto(self, index: int, growth_window: str, at: datetime) -> int:
        """The window's growth right after entry `index` was written at `at`."""
        start = policy.window_start(growth_window, at)
        first = 0 if start is None else bisect_left(self.times, start, hi=index + 1)
        return max(self.prefix[index + 1] - self.prefix[first], 0)

    def until(self, growth_window: str, at: datetime) -> int:
        """The window's growth at the instant `at`, every entry written by then included."""
        last = bisect_right(self.times, at)
        start = policy.window_start(growth_window, at)
        first = 0 if start is None else bisect_left(self.times, start, hi=last)
        return max(self.prefix[last] - self.prefix[first], 0)

    def before(self, growth_window: str, end: datetime) -> int:
        """The growth of the window that ends at `end` (an evaluation's due time)."""
        last = bisect_left(self.times, end)
        start = policy.window_start(growth_window, end)
        first = 0 if start is None else bisect_left(self.times, start, hi=last)
        return max(self.prefix[last] - self.prefix[first], 0)


def reached(growth: int, ladder: dict[int, int]) -> int | None:
    """The highest level whose threshold `growth` reaches."""
    return max((lid for lid, threshold in ladder.items() if threshold <= growth), key=ladder.get, default=None)


def higher(a: int | None, b: int | None, ladder: dict[int, int]) -> int | None:
    return b if ladder.get(b, -1) > ladder.get(a, -1) else a


def threshold_then(level_id: int | None, recorded: int | None, ladder: dict[int, int]) -> int | None:
    """A level's threshold as a history row has it: the one recorded with the move, else (a row written
    before moves recorded their levels) the level's threshold now; -1 for no level, None if not known."""
    if level_id is None:
        return -1
    return recorded if recorded is not None else ladder.get(level_id)


def one_down(level_id: int | None, growth: int, ladder: dict[int, int], *,
             held_threshold: int | None = None) -> int | None:
    """What `one_level` leaves a member holding `level_id` whose window growth is `growth`: the same level
    when the growth reaches it, else the higher of one level down and the level the growth reaches.
    A level deleted since it was held counts at `held_threshold` (its threshold then); kept, it is the level
    now at or below that threshold, where its deletion moved its members."""
    if level_id is not None and level_id not in ladder and held_threshold is not None:
        kept = one_down(level_id, growth, {**ladder, level_id: held_threshold})
        return reached(held_threshold, ladder) if kept == level_id else kept
    if level_id is None or ladder.get(level_id, -1) <= growth:
        return level_id
    below = max((lid for lid, threshold in ladder.items() if threshold < ladder[level_id]), key=ladder.get,
                default=None)
    return higher(below, reached(growth, ladder), ladder)


def replay(level_id: int | None, growth: Growth, *, after: datetime | None, rows: list, ladder: dict[int, int],
           evaluations: list[tuple[datetime, str, str]] = ()) -> int | None:
    """The level a member holding `level_id` at `after` (None: from the start) holds once their earnings
    since (each moves them up to what the window then in force reaches) and the evaluations since
    (due time, window, downgrade) are applied in time order. An evaluation at the instant of an
    earning comes first: the earning belongs to the new period."""
    events = [(evaluation[0], 0, evaluation) for evaluation in evaluations if after is None or evaluation[0] > after]
    events += [(at, 1, index) for index, (at, delta) in enumerate(growth.entries)
               if delta > 0 and (after is None or at > after)]
    for at, kind, item in sorted(events, key=lambda event: (event[0], event[1], event[2] if event[1] else 0)):
        if kind == 0:
            _, growth_window, downgrade = item
            if downgrade == "one_level":
                level_id = one_down(level_id, growth.before(growth_window, at), ladder)
        else:
            window = policy.in_effect(at, rows=rows).growth_window
            level_id = higher(level_id, reached(growth.upto(item, window, at), ladder), ladder)
    return level_id
