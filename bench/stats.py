"""The daily figures at scale: the rollup of one day and GET /admin/stats, timed, with their statements.

    .venv/bin/python bench/stats.py [--members 100000] [--entries 1000000] [--days 90] [--repeat 5]

On DATABASE_URL (default: a fresh PostgreSQL database on 127.0.0.1:5432, dropped afterwards; see
bench/run.py), writes the books of --days days in bulk (bench/stats_seed.py: --members members,
--entries points entries and the rows of every other figure), then measures, in this process:

1. the rollup of a day no row comes before (what stood at its start read from the whole ledger);
2. the rollup of the next day (what stood at its start is the row of the day before: only the day's rows);
3. the rollup of every day (the worker's catching up, or rollup-stats over the whole range);
4. GET /admin/stats for 90 days and for a year, ending yesterday (stored rows only) and for 90 days ending
   today (today's figures computed live), through the Flask test client with a viewer's token.

Each is run --repeat times (the median and the fastest are printed) and its SQL statements are counted.
On PostgreSQL the plan of every statement of step 2 is asked (EXPLAIN) and a sequential scan of a table
is reported: the rollup of a day must read that day's rows only.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from run import _app, _database  # noqa: E402  the house's throwaway database and app context

SMALL_TABLES = {"level", "task", "lottery", "lottery_prize", "goods", "store", "guide", "coupon_template",
                "coupon_pack", "daily_figures"}


def main():
    args = _parse()
    os.environ.setdefault("REDIS_URL", args.redis_url)
    with _database(args.database_url) as url:
        os.environ["DATABASE_URL"] = url
        with _app() as app:
            from flask_migrate import upgrade

            from stats_seed import Seed
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            counts = Seed(members=args.members, entries=args.entries, days=args.days,
                          level_moves=args.level_moves or args.members // 20).run()
            _analyze()
            print(f"==> books: {sum(counts.values()):,} rows; measuring", flush=True)
            _measure(app, args)


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--entries", type=int, default=1_000_000, help="points entries")
    p.add_argument("--days", type=int, default=90, help="the days the books span, ending yesterday")
    p.add_argument("--level-moves", type=int, default=None, help="members moving up a level (default: --members / 20)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each measurement")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"))
    return p.parse_args()


def _analyze():
    from models import db
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


class Statements:
    """The SQL statements (and their parameters) the engine runs while counting."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, conn, cursor, statement, parameters, *args):
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "EXPLAIN")):
            self.seen.append((statement, parameters))


def _timed(label, call, repeat, engine) -> list:
    times, statements = [], []
    for _ in range(repeat):
        with Statements(engine) as counted:
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        statements = counted.seen
    print(f"{label}: median {statistics.median(times) * 1000:,.1f} ms, fastest {min(times) * 1000:,.1f} ms, "
          f"{len(statements)} statements", flush=True)
    return statements


def _measure(app, args):
    from models import DailyFigures, db
    from services.members import operators
    from services.platform import clock, tokens
    from services.stats import rollup

    today = clock.today()
    first, last = today - timedelta(days=args.days), today - timedelta(days=1)
    middle = first + timedelta(days=args.days // 2)

    def forget_rows():
        db.session.execute(DailyFigures.__table__.delete())
        db.session.commit()

    def cold():
        forget_rows()
        rollup.roll(middle, middle)

    _timed(f"rollup of {middle}, no row before it (the ledger from its start)", cold, args.repeat, db.engine)
    steady = _timed(f"rollup of {middle + timedelta(days=1)}, the day before stored",
                    lambda: rollup.roll(middle + timedelta(days=1), middle + timedelta(days=1)), args.repeat, db.engine)
    _explain(steady)
    forget_rows()
    _timed(f"rollup of all {args.days} days", lambda: rollup.roll(first, last), 1, db.engine)
    viewer = operators.create_operator(username="bench-viewer", password="bench-viewer-pass", role="viewer")
    headers = {"Authorization": f"Bearer {tokens.issue('operator', viewer.id, viewer.token_version)}"}
    client = app.test_client()
    for label, since, until in (("GET /admin/stats, 90 days to yesterday", last - timedelta(days=89), last),
                                ("GET /admin/stats, a year to yesterday", last - timedelta(days=365), last),
                                ("GET /admin/stats, 90 days to today (today live)",
                                 today - timedelta(days=89), today)):
        query = {"from": str(since), "to": str(until)}
        assert client.get("/api/v1/admin/stats", headers=headers, query_string=query).status_code == 200
        _timed(label, lambda: client.get("/api/v1/admin/stats", headers=headers, query_string=query),
               args.repeat, db.engine)


def _explain(statements):
    """Every sequential scan the plans of a day's rollup make, on a table that grows with the programme."""
    from models import db
    if db.engine.dialect.name != "postgresql":
        return
    scans = {}
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
                for line in plan:
                    if "Seq Scan on" in line:
                        scans.setdefault(line.split(" on ")[1].split()[0], " ".join(statement.split())[:160])
    growing = {table: statement for table, statement in scans.items() if table not in SMALL_TABLES}
    print(f"sequential scans in the plans of one day's rollup: {', '.join(sorted(growing)) or 'none'} "
          f"(of tables that stay small: {', '.join(sorted(set(scans) - set(growing))) or 'none'})", flush=True)
    for table, statement in sorted(growing.items()):
        print(f"  {table}: {statement}…")


if __name__ == "__main__":
    main()
