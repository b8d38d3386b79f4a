"""What each area contributes to the running service, and the one place they are wired together.

An area declares its contributions in its package's `__init__.py` as `AREA = Area(...)`, naming
functions by dotted path (nothing is imported or registered as a side effect). `services.AREAS`
lists every area; `wire(app, AREAS)` (in create_app) resolves them once into the app, so the web
app, the worker and every CLI command see the same jobs, rebuilders, repairs and checks.

- periodic: jobs run by the worker every N seconds (`Periodic(name, target, seconds)`).
- rebuilders: `rebuild-redis` parts, `fn(progress) -> keys written`.
- repairers: Redis repair kinds, `fn(member_id | None)`, see services.index.redis_repair.
- audit_checks: `audit-ledger` checks, `fn() -> [problem, ...]`.
- gauges: what `/metrics` reads at each scrape, `fn() -> [metrics.Gauge, ...]` (backlogs, last checks).
- board_sources: leaderboard rows kept by another area, `fn(at) -> [(member_id, value, reached_at)]`.
- payment_kinds: what a payment of another kind than a purchase settles, by kind: the dotted path of an
  object with `paid(payment)`, `closed(payment)` and `refunded(payment, refund)` (services.payments).
- Followers, so that a lower area calls a higher one only through what the higher one contributes,
  each by area name, called in the order of AREAS inside the caller's transaction:
  - join_followers: `fn(member)` once a new member's row is flushed (the ledger opens the accounts,
    levels places the member at the entry level);
  - growth_followers: a `growth.Follower` (services.ledger.growth): levels follows growth;
  - purchase_followers: `fn(member_id, payment)` once a paid purchase is rewarded (guides assigns one);
  - refund_followers: `fn(member_id, payment, refund)` once a purchase's refund has taken its rewards back
    (invites takes an inviter's reward back);
  - event_followers: `fn(member_id, type_, business_key=, reference=, payload=)` once a member event is
    recorded (invites: the friend's qualifying step);
  - referral_followers: `fn(member, *, created, code, client_address)` when a login carries an inviter's
    code (invites records the invitation, or refuses it).
"""
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import click
from flask import current_app
from flask.cli import with_appcontext

EXTENSION = "loyalty.areas"
PARTS = ("periodic", "rebuilders", "repairers", "audit_checks", "gauges", "board_sources", "payment_kinds",
         "join_followers", "growth_followers", "purchase_followers", "refund_followers", "event_followers",
         "referral_followers")


@dataclass(frozen=True)
class Periodic:
    name: str
    target: str  # dotted path of a module-level function taking no arguments
    seconds: int


@dataclass(frozen=True)
class Area:
    name: str
    periodic: tuple[Periodic, ...] = ()
    rebuilders: Mapping[str, str] = field(default_factory=dict)
    repairers: Mapping[str, str] = field(default_factory=dict)
    audit_checks: Mapping[str, str] = field(default_factory=dict)
    gauges: Mapping[str, str] = field(default_factory=dict)
    board_sources: Mapping[str, str] = field(default_factory=dict)
    payment_kinds: Mapping[str, str] = field(default_factory=dict)
    join_followers: Mapping[str, str] = field(default_factory=dict)
    growth_followers: Mapping[str, str] = field(default_factory=dict)
    purchase_followers: Mapping[str, str] = field(default_factory=dict)
    refund_followers: Mapping[str, str] = field(default_factory=dict)
    event_followers: Mapping[str, str] = field(default_factory=dict)
    referral_followers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Wiring:
    """Every area's contributions, resolved to functions."""

    areas: tuple[str, ...]
    periodic: Mapping[str, Periodic]
    rebuilders: Mapping[str, Callable]
    repairers: Mapping[str, Callable]
    audit_checks: Mapping[str, Callable]
    gauges: Mapping[str, Callable]
    board_sources: Mapping[str, Callable]
    payment_kinds: Mapping[str, object]
    join_followers: Mapping[str, Callable]
    growth_followers: Mapping[str, object]
    purchase_followers: Mapping[str, Callable]
    refund_followers: Mapping[str, Callable]
    event_followers: Mapping[str, Callable]
    referral_followers: Mapping[str, Callable]


def function_at(path: str) -> Callable:
    """The module-level function a dotted path names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def collect(areas: Iterable[Area]) -> Wiring:
    """Resolve every area's contributions; a name contributed twice is a wiring mistake."""
    areas = tuple(areas)
    parts: dict[str, dict] = {part: {} for part in PARTS}
    for area in areas:
        contributed = {"periodic": {job.name: job for job in area.periodic},
                       **{part: getattr(area, part) for part in PARTS[1:]}}
        for part, entries in contributed.items():
            for name, entry in entries.items():
                if name in parts[part]:
                    raise ValueError(f"{part} {name!r} is contributed twice (area {area.name!r})")
                if part == "periodic":
                    function_at(entry.target)  # fail at start, not at the first tick
                    parts[part][name] = entry
                else:
                    parts[part][name] = function_at(entry)
    return Wiring(areas=tuple(area.name for area in areas), **parts)


def wire(app, areas: Iterable[Area]) -> None:
    app.extensions[EXTENSION] = collect(areas)


def wiring() -> Wiring:
    """The current app's wiring."""
    return current_app.extensions[EXTENSION]


def describe(wired: Wiring | None = None) -> str:
    """What the app runs, one line per kind of contribution (for `flask areas` and the worker's log)."""
    wired = wired or wiring()
    lines = [f"areas: {', '.join(wired.areas)}",
             "periodic: " + ", ".join(f"{job.name} ({job.seconds}s)" for job in sorted(
                 wired.periodic.values(), key=lambda job: job.name))]
    for part in PARTS[1:]:
        lines.append(f"{part}: {', '.join(sorted(getattr(wired, part)))}")
    return "\n".join(lines)


@click.command("areas")
@with_appcontext
def areas_command():
    """Show every area and what it contributes: periodic jobs, Redis rebuilders and repairs, audit checks."""
    click.echo(describe())
