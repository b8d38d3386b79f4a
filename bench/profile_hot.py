"""A py-spy profile of the gunicorn worker under load, one hot path at a time, summarised by layer.

    flock /tmp/bench.lock /work/main/.venv/bin/python bench/profile_hot.py [--seconds 5] [--rate 500]
        [--only bare signin calendar me leaderboard mall_goods all] [--members 5000] [--board-size 1000000]
    /work/main/.venv/bin/python bench/profile_hot.py --summarise bench/profiles/<run>/   (again, from the files)

The same server as bench/layers.py (seeded the same way; 1 worker × 8 threads on core 0, wrk with 32
connections on core 1); while wrk drives one endpoint, `py-spy record --pid <worker> --format raw
--nonblocking --gil` (itself on core 1) samples the one thread of the worker that holds the GIL, if
any: the samples are where the worker's Python time goes (time in C with the GIL released, such as a
socket wait or libpq's I/O, is not sampled; "GIL held" is the share of ticks with a sample). The
collapsed stacks are written to bench/profiles/<run>/<endpoint>.txt (git-ignored); each endpoint is
summarised twice, as shares of its samples:

- by library: the innermost frame outside the standard library (stdlib frames count for their caller:
  socket.recv under redis-py is redis-py's): psycopg, SQLAlchemy, redis-py, flask-smorest + webargs +
  marshmallow, itsdangerous, werkzeug, flask, gunicorn, the project's services/ and blueprints/;
- by layer: the innermost frame that belongs to one of the project's per-request layers (the auth
  decorator, the token, the member card, @idempotent, smorest's arguments and response, the transaction's
  begin/commit, the Redis index write after commit, the edge check, the view and its services), else
  Flask/werkzeug's dispatch, else gunicorn (reading the request, writing the answer).
"""
import argparse
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import layers  # noqa: E402
import load  # noqa: E402
import run  # noqa: E402

PROFILES = ROOT / "bench" / "profiles"
ENDPOINTS = ("bare", "signin", "calendar", "me", "leaderboard", "mall_goods", "all")
PY_SPY = Path(sys.executable).with_name("py-spy")

LIBRARIES = [  # (label, path fragment of a site-packages file)
    ("psycopg", "/psycopg/"), ("psycopg", "/psycopg_binary/"), ("psycopg", "/psycopg_pool/"),
    ("SQLAlchemy", "/sqlalchemy/"), ("SQLAlchemy", "/flask_sqlalchemy/"),
    ("redis-py", "/redis/"), ("redis-py", "/hiredis/"),
    ("smorest+webargs+marshmallow", "/flask_smorest/"), ("smorest+webargs+marshmallow", "/webargs/"),
    ("smorest+webargs+marshmallow", "/marshmallow/"), ("smorest+webargs+marshmallow", "/apispec/"),
    ("itsdangerous", "/itsdangerous/"), ("werkzeug", "/werkzeug/"), ("flask", "/flask/"),
    ("gunicorn", "/gunicorn/"),
]
PROJECT = [("project services/", "services/"), ("project blueprints/", "blueprints/"),
           ("project models/", "models/"), ("project app.py", "app.py"), ("project config.py", "config.py"), ("bench (layers_app)", "bench/")]

# (layer, predicate on (relative file, qualname)); the innermost frame that matches names the layer
LAYER_MARKS = [
    ("access log (gunicorn, log_scrub)", lambda f, q: f.endswith("gunicorn/glogging.py")
     or f == "services/platform/log_scrub.py"),
    ("redis index write (after commit)", lambda f, q: f == "services/index/redis_index.py"),
    ("transaction begin/commit", lambda f, q: f == "services/platform/db.py" and q in (
        "transaction", "_run_after_commit", "_note_keyed_work", "_drop_after_rollback")),
    ("token (tokens.verify)", lambda f, q: f == "services/platform/tokens.py" or q == "_bearer_claims"),
    ("member card (revocation)", lambda f, q: q in ("authenticate",) and f == "services/members/members.py"
     or f == "services/members/cards.py" or f == "services/index/redis_repair.py"),
    ("idempotency", lambda f, q: f == "services/platform/idempotency.py" or q.startswith("idempotent")),
    ("auth decorator", lambda f, q: q.startswith("_role_required") or q.startswith("member_optional")),
    ("query_args (schema.load)", lambda f, q: q.startswith("query_args")),
    ("dumped (render)", lambda f, q: q == "dumped" or f == "services/platform/rendered.py"),
    ("smorest response", lambda f, q: f.endswith("flask_smorest/response.py")),
    ("smorest arguments", lambda f, q: f.endswith("flask_smorest/arguments.py") or "/webargs/" in f
     or q.startswith("paged")),
    ("edge check", lambda f, q: f == "blueprints/edge.py"),
    ("view + services (the work)", lambda f, q: f.startswith(("services/", "blueprints/", "bench/", "models/"))),
    ("session remove (teardown)", lambda f, q: f == "app.py" and "lambda" in q),
    ("flask/werkzeug dispatch", lambda f, q: "/flask/" in f or "/werkzeug/" in f or f == "app.py"),
    ("gunicorn (HTTP in/out)", lambda f, q: "/gunicorn/" in f),
]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def main():
    args = _parse()
    if args.summarise:
        summarise(Path(args.summarise), args.only or ENDPOINTS)
        return
    if not PY_SPY.exists():
        raise SystemExit(f"no {PY_SPY}: {Path(sys.executable).with_name('pip')} install py-spy")
    out = PROFILES / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    import os
    import secrets
    os.environ.update(REDIS_URL=args.redis_url, SECRET_KEY=secrets.token_hex(32))
    wanted = [n for n in ENDPOINTS if not args.only or n in args.only]
    try:
        with run._database(None) as database_url:
            os.environ["DATABASE_URL"] = database_url
            prepared = run._prepare(SimpleNamespace(members=args.members, board_size=args.board_size,
                                                    only=["bare", *layers.HOT], task_members=0, flash_attempts=0))
            layers._bench_rows(database_url, prepared.ids)
            env = {"BENCH_LAYER_MEMBERS": f"{min(prepared.ids)},{max(prepared.ids)}"}
            with layers._gunicorn(env) as (base, worker):
                layers._warm_tokens(base, prepared.tokens)
                for name in wanted:
                    _record(base, worker, name, prepared.tokens, args, out)
    finally:
        run._flush_redis(args.redis_url)
    summarise(out, wanted)


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=5, help="py-spy's recording per endpoint (wrk runs 2 s longer)")
    p.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    p.add_argument("--members", type=int, default=5000)
    p.add_argument("--board-size", type=int, default=1_000_000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--only", nargs="*", help=" ".join(ENDPOINTS))
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    p.add_argument("--summarise", help="only summarise the profiles in this folder")
    return p.parse_args()


def _path(name):
    if name == "all":
        return layers.LAYERS["all"][:2]
    return run._endpoints()[name]


def _record(base, worker, name, tokens, args, out) -> None:
    method, path = _path(name)
    if method == "GET" and name != "bare":
        load.warm(base, method, path, tokens, connections=16)
    result = {}

    def drive():
        result.update(layers.PinnedWrk(base, method, path, tokens, seconds=args.seconds + 2,
                                       connections=args.connections, threads=2).run())

    driver = threading.Thread(target=drive)
    driver.start()
    time.sleep(1)
    target = out / f"{name}.txt"
    spy = subprocess.run(["taskset", "-c", layers.LOAD_CPU, str(PY_SPY), "record", "--pid", str(worker),
                          "--rate", str(args.rate), "--duration", str(args.seconds), "--format", "raw",
                          "--nonblocking", "--gil", "--full-filenames", "--output", str(target)], capture_output=True, text=True)
    driver.join()
    if spy.returncode:
        raise SystemExit(f"py-spy failed: {spy.stderr[-2000:]}")
    (out / f"{name}.wrk.json").write_text(json.dumps({**result, "py_spy_rate": args.rate, "py_spy_seconds": args.seconds}))
    print(f"--- {name}: {method} {path}: {result['rps']:.0f} req/s under the profiler, {result['errors']} not 2xx; "
          f"{sum(n for _, n in _stacks(target))} samples in {target.relative_to(ROOT)}")


def _stacks(path: Path):
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack, int(count)


class Resolver:
    """A frame's file relative to the project (or its full path outside it) and its function's
    qualified name (py-spy gives co_qualname), without the `<locals>.` of nested functions."""

    def frame(self, raw: str):
        m = FRAME.match(raw)
        if not m:
            return "", raw, raw
        file, func = m["file"], m["func"].replace("<locals>.", "")
        rel = file
        with contextlib.suppress(ValueError):
            rel = str(Path(file).relative_to(ROOT))
        return rel, func, m["func"]


def _stdlib(file: str) -> bool:
    return file.startswith("<") or ("/lib/python3" in file and "site-packages" not in file)


def library(frames) -> str:
    for file, _, _ in reversed(frames):
        if _stdlib(file):
            continue
        for label, fragment in PROJECT:
            if file.startswith(fragment) and not file.startswith("/"):
                return label
        for label, fragment in LIBRARIES:
            if fragment in file:
                return label
        return "other libraries"
    return "stdlib only (threads, selectors)"


def layer(frames) -> str:
    for file, qual, _ in reversed(frames):
        for label, test in LAYER_MARKS:
            if test(file, qual):
                return label
    return "other (thread start, selectors)"


def summarise(folder: Path, names) -> None:
    resolver, tables = Resolver(), {}
    for name in names:
        path = folder / f"{name}.txt"
        if not path.exists():
            continue
        by_lib, by_layer, total = Counter(), Counter(), 0
        for stack, count in _stacks(path):
            frames = [resolver.frame(f) for f in stack.split(";")]
            by_lib[library(frames)] += count
            by_layer[layer(frames)] += count
            total += count
        wrk = json.loads((folder / f"{name}.wrk.json").read_text()) if (folder / f"{name}.wrk.json").exists() else {}
        ticks = (wrk.get("py_spy_rate") or 0) * (wrk.get("py_spy_seconds") or 0)
        tables[name] = {"samples": total, "rps": wrk.get("rps"), "gil_held": total / ticks if ticks else None,
                        "library": by_lib, "layer": by_layer}
    for kind, title in (("library", "by library (innermost non-stdlib frame)"),
                        ("layer", "by layer (innermost frame of a layer)")):
        labels = sorted({k for t in tables.values() for k in t[kind]},
                        key=lambda k: -sum(t[kind][k] / max(t["samples"], 1) for t in tables.values()))
        print(f"\n==> share of the worker's active samples, {title}; {folder}")
        print(f"{'':34}" + "".join(f"{n:>12}" for n in tables))
        print(f"{'samples':34}" + "".join(f"{t['samples']:>12}" for t in tables.values()))
        print(f"{'req/s under the profiler':34}" + "".join(f"{(t['rps'] or 0):>12.0f}" for t in tables.values()))
        print(f"{'GIL held (samples / ticks)':34}" + "".join(f"{100 * (t['gil_held'] or 0):>11.0f}%"
                                                           for t in tables.values()))
        for label in labels:
            print(f"{label[:34]:34}" + "".join(f"{100 * t[kind][label] / max(t['samples'], 1):>11.1f}%"
                                                for t in tables.values()))
    (folder / "summary.json").write_text(json.dumps(
        {n: {**t, "library": dict(t["library"]), "layer": dict(t["layer"])} for n, t in tables.items()}, indent=1))


if __name__ == "__main__":
    main()
