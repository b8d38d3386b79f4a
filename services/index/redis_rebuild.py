"""rebuild-redis: Redis only indexes SQL; each area declares how to rebuild its own structures
(`rebuilders` in its AREA, wired in create_app).

A rebuilder is `fn(progress) -> int`: it rebuilds everything it owns from SQL, calls `progress(n)`
as it goes, and returns how many keys it wrote.

The same rebuild runs on its own whenever Redis is a server run the index was not built on
(`rebuild_on_new_server`, the index area's periodic job): a replica Sentinel promoted may lack the old
primary's last writes (replication is asynchronous), and a restarted server those after its last save.
"""
import logging

import click
from flask.cli import with_appcontext

from models import db
from services.index import redis_repair
from services.platform.areas import wiring
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)
BUILT_ON_KEY = "index:built-on"  # the run id of the Redis server the index was last rebuilt on

def in_batches(statement, column, *, size: int = 1000, progress=None):
    """The rows of `statement` (which selects `column` first) in batches of `size`, in `column` order,
    each batch its own query (keyset pagination); calls progress(len(batch)) after each."""
    after = None
    while rows := db.session.execute((statement if after is None else statement.where(column > after))
                                     .order_by(column).limit(size)).all():
        yield rows
        after = rows[-1][0]
        if progress:
            progress(len(rows))


def rebuild_all(progress=None) -> dict[str, tuple[int, int] | Exception]:
    """Run every wired rebuilder; per area, (keys written, items counted) or the error it raised.

    One area failing does not stop the others: each rebuilds only what it owns.
    """
    covered, done = redis_repair.last_id(), {}
    for name, rebuild in sorted(wiring().rebuilders.items()):
        counted = [0]

        def count(n, counted=counted):
            counted[0] += n
            if progress:
                progress(n)
        try:
            done[name] = (rebuild(count), counted[0])
        except Exception as exc:  # reported below, and the command exits 1
            log.exception("rebuild-redis: %s failed", name)
            done[name] = exc
    if not any(isinstance(outcome, Exception) for outcome in done.values()):
        redis_repair.clear(covered)
    return done


def rebuild_on_new_server() -> str:
    """Rebuild every structure from SQL if Redis is a server run the index was not rebuilt on; once,
    however many workers check: SET … GET hands the old run id to one of them only."""
    client = get_redis()
    run_id = client.info("server")["run_id"]
    if client.set(BUILT_ON_KEY, run_id, get=True) == run_id.encode():
        return "same server"
    log.warning("Redis is a new server run (%s: a failover or a restart): rebuilding it from SQL", run_id)
    done = rebuild_all()
    if failed := [name for name, outcome in done.items() if isinstance(outcome, Exception)]:
        client.delete(BUILT_ON_KEY)  # the next check tries again
        raise RuntimeError(f"rebuild after a new Redis server failed in {', '.join(failed)}")
    return "rebuilt"


@click.command("rebuild-redis")
@with_appcontext
def rebuild_redis_command():
    """Rebuild every Redis structure (leaderboards, calendars, streaks…) from SQL."""
    with click.progressbar(length=0, label="rebuilding Redis from SQL", show_pos=True) as bar:
        done = rebuild_all(progress=bar.update)
    failed = {name: exc for name, exc in done.items() if isinstance(exc, Exception)}
    for name, outcome in done.items():
        if name not in failed:
            click.echo(f"{name}: {outcome[0]} keys, {outcome[1]} entries")
    for name, exc in failed.items():
        click.echo(f"FAILED {name}: {type(exc).__name__}: {exc}", err=True)
    click.echo(f"rebuilt {sum(o[0] for n, o in done.items() if n not in failed)} keys "
               f"in {len(done) - len(failed)} of {len(done)} areas")
    if failed:
        raise SystemExit(1)
