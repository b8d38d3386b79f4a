"""Where the time goes, layer by layer: the bare endpoint with one of the project's per-request layers
switched on at a time (bench/layers_app.py), and the five hot endpoints, each in turns with bare.

    flock /tmp/bench.lock /work/main/.venv/bin/python bench/layers.py [--slices 4] [--slice-seconds 1]
        [--members 5000] [--board-size 1000000] [--only token orm signin ...] [--json out.json]

Seeds a fresh PostgreSQL database on 127.0.0.1:5432 like bench/run.py (its _database and _prepare:
migrate, members and their tokens, member cards, the points_week board, 20 goods) and a bench-only
table bench_layer_row; starts gunicorn with the project's gunicorn.conf.py on "bench.layers_app:create()",
one worker of 8 threads (WEB_CONCURRENCY=1 THREADS=8), access log off, RATE_LIMITS_ENABLED=0, pinned to
core 0 (taskset -c 0); the rate_limit layer alone is measured on a second such server with
RATE_LIMITS_ENABLED=1 (bare in turns with it on that server). wrk, pinned to core 1, drives each route
with 32 connections and the members' tokens in rotation (bench/load.py's script, plus a fresh
Idempotency-Key per request for idempotency_key), in --slices turns of --slice-seconds with bare
(this shared machine's speed drifts). Every token is verified once and every GET warmed once first
(unmeasured), as bench/run.py does. Prints: layer | req/s | ratio to bare | µs per request over bare
(1/rps − 1/bare_rps: the worker's one core being the bottleneck) | p50 / p99.
"""
import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402
import redis  # noqa: E402
import run  # noqa: E402

SERVER_CPU, LOAD_CPU = "0", "1"
REDIS_URL = "redis://127.0.0.1:6379/12"  # not bench/run.py's db 11: both may be run on this machine
L = "/bench/layer"
# name: (method, path, what it adds over bare)
LAYERS = {
    "raw_wsgi": ("GET", f"{L}/raw_wsgi", "below bare: a WSGI middleware answers before Flask"),
    "bare_post": ("POST", f"{L}/bare_post", "POST with a {} body, unread"),
    "edge": ("POST", f"{L}/edge", "path/query check again + strict JSON parse of the body"),
    "token": ("GET", f"{L}/token", "bearer token: _bearer_claims / tokens.verify"),
    "token_revocation": ("GET", f"{L}/token_revocation", "member_required: token + member card (MGET)"),
    "rate_limit": ("GET", f"{L}/rate_limit", "one ratelimit.check (INCR+EXPIRE pipeline)"),
    "idempotency": ("POST", f"{L}/idempotency", "@idempotent, no Idempotency-Key sent"),
    "idempotency_key": ("POST", f"{L}/idempotency_key", "@idempotent, a new Idempotency-Key each request"),
    "smorest_response": ("GET", f"{L}/smorest_response", "@blp.response (serialisation)"),
    "smorest": ("GET", f"{L}/smorest", "@blp.arguments(query) + @blp.response"),
    "smorest_json": ("POST", f"{L}/smorest_json", "@blp.arguments(JSON body) + @blp.response"),
    "transaction": ("GET", f"{L}/transaction", "transaction() with nothing in it"),
    "orm": ("GET", f"{L}/orm", "transaction(): session.get(Member) + commit"),
    "orm_lock": ("GET", f"{L}/orm_lock", "transaction(): lock_member (FOR UPDATE) + commit"),
    "orm_write": ("GET", f"{L}/orm_write", "transaction(): lock_member + one-row UPDATE + commit"),
    "redis_index": ("GET", f"{L}/redis_index", "transaction() + SETBIT via write_after_commit"),
    "all": ("POST", f"{L}/all", "member_required+@idempotent+@blp.response+lock+UPDATE+SETBIT"),
}
RATE_LIMITED = {"rate_limit"}  # measured on a server with RATE_LIMITS_ENABLED=1
HOT = ("signin", "calendar", "me", "leaderboard", "mall_goods")  # bench/run.py's names and paths
IDEMPOTENCY_KEYS = {"idempotency_key"}

# bench/load.py's WRK_LUA (each thread its own stride of the tokens), plus a fresh Idempotency-Key per
# request when BENCH_IDEMPOTENCY=1
WRK_LUA = r"""
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local keyed, nonce = os.getenv("BENCH_IDEMPOTENCY") == "1", os.getenv("BENCH_NONCE")
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
end
function init(args)
  nthreads, method, path = tonumber(args[1]), args[2], args[3]
  idx, sent = id, 0
end
function request()
  local token = tokens[(idx % #tokens) + 1]
  idx = idx + nthreads
  sent = sent + 1
  local body = nil
  if method == "POST" then body = "{}" end
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  if keyed then headers["Idempotency-Key"] = nonce .. "-" .. id .. "-" .. sent end
  return wrk.format(method, path, headers, body)
end
"""


class PinnedWrk:
    """wrk pinned to LOAD_CPU with the script above; load.py's parsing of its report."""

    def __init__(self, base, method, path, tokens, *, seconds, connections, threads, keyed=False):
        self.base, self.method, self.path, self.tokens, self.keyed = base, method, path, tokens, keyed
        self.seconds, self.connections, self.threads = seconds, connections, threads

    def run(self) -> dict:
        with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
            script, token_file = Path(tmp, "rotate.lua"), Path(tmp, "tokens.txt")
            script.write_text(WRK_LUA)
            token_file.write_text("\n".join(self.tokens) + "\n")
            out = subprocess.run(
                ["taskset", "-c", LOAD_CPU, "wrk", f"-t{self.threads}", f"-c{self.connections}",
                 f"-d{self.seconds}s", "--timeout", "10s", "--latency", "-s", str(script), self.base + "/", "--",
                 str(self.threads), self.method, self.path],
                env={"BENCH_TOKENS": str(token_file), "BENCH_IDEMPOTENCY": "1" if self.keyed else "0",
                     "BENCH_NONCE": secrets.token_hex(6), "PATH": "/usr/bin:/bin"},
                capture_output=True, text=True, timeout=self.seconds + 60, check=True).stdout
        return load._parse_wrk(out)


def main():
    args = _parse()
    layers = [n for n in LAYERS if not args.only or n in args.only]
    hot = [n for n in HOT if not args.only or n in args.only]
    results = {}
    os.environ.update(REDIS_URL=args.redis_url, SECRET_KEY=secrets.token_hex(32))
    try:
        with run._database(None) as database_url:
            os.environ["DATABASE_URL"] = database_url
            prepared = run._prepare(SimpleNamespace(members=args.members, board_size=args.board_size,
                                                    only=["bare", *HOT], task_members=0, flash_attempts=0))
            _bench_rows(database_url, prepared.ids)
            env = {"BENCH_LAYER_MEMBERS": f"{min(prepared.ids)},{max(prepared.ids)}"}
            plain = [n for n in layers if n not in RATE_LIMITED]
            if plain or hot:
                with _gunicorn(env) as (base, _):
                    _warm_tokens(base, prepared.tokens)
                    for name in plain:
                        results[name] = _layer(base, name, prepared.tokens, args)
                    for name in hot:
                        results[name] = _hot(base, name, prepared.tokens, args)
                    _check_side_effects(database_url, args.redis_url, results)
            if any(n in RATE_LIMITED for n in layers):
                with _gunicorn({**env, "RATE_LIMITS_ENABLED": "1"}) as (base, _):
                    _warm_tokens(base, prepared.tokens)
                    for name in (n for n in layers if n in RATE_LIMITED):
                        results[name] = _layer(base, name, prepared.tokens, args)
                    counted = list(redis.Redis.from_url(args.redis_url).scan_iter("rl:{bench-layer:*", count=1000))
                    print(f"==> checks: {len(counted)} rate-limit counters rl:{{bench-layer:…}} in Redis")
    finally:
        run._flush_redis(args.redis_url)
    _report(results, args)


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--slices", type=int, default=4, help="turns of bare and the route")
    p.add_argument("--slice-seconds", type=int, default=1, help="length of each slice (wrk: whole seconds)")
    p.add_argument("--members", type=int, default=5000, help="members (POST /signin: one sign-in each)")
    p.add_argument("--board-size", type=int, default=1_000_000, help="synthetic members on points_week")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    p.add_argument("--only", nargs="*", help=f"layers {' '.join(LAYERS)}; endpoints {' '.join(HOT)}")
    p.add_argument("--redis-url", default=REDIS_URL)
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()
    if unknown := set(args.only or ()) - set(LAYERS) - set(HOT):
        p.error(f"--only: no layer or endpoint {', '.join(sorted(unknown))}")
    return args


def _bench_rows(database_url, ids) -> None:
    """The bench-only table the orm_write and all layers update: one row per member (no lock waits)."""
    import psycopg
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_layer_row (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
        conn.execute("INSERT INTO bench_layer_row (id) SELECT unnest(%s::integer[])", (list(ids),))


@contextlib.contextmanager
def _gunicorn(extra_env):
    """gunicorn.conf.py on "bench.layers_app:create()": 1 worker × 8 threads, pinned to SERVER_CPU;
    the base URL and the worker's pid."""
    port = run._free_port()
    env = dict(os.environ, BIND=f"127.0.0.1:{port}", ACCESS_LOG="/dev/null", WEB_CONCURRENCY="1", THREADS="8",
               RATE_LIMITS_ENABLED="0")
    env.update(extra_env)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, str(gunicorn), "-c", "gunicorn.conf.py",
                             "bench.layers_app:create()"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if run._status(f"{base}/healthz") == 200:
                break
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited during start-up")
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not become healthy in 30 s")
        workers = worker_pids(proc.pid)
        print(f"==> gunicorn on {base}: master {proc.pid}, worker {workers}, 8 threads, core {SERVER_CPU}, "
              f"RATE_LIMITS_ENABLED={env['RATE_LIMITS_ENABLED']}")
        yield base, workers[0]
    finally:
        run._stop(proc)
        print("==> gunicorn stopped")


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "--ppid", str(master), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def _warm_tokens(base, tokens) -> None:
    """Every token verified once (tokens.verify remembers a genuine one per process), every card read once."""
    started = time.monotonic()
    ok = load.warm(base, "GET", f"{L}/token_revocation", tokens, connections=16)
    print(f"    every token verified once ({ok} of {len(tokens)} answered 2xx) in {time.monotonic() - started:.1f}s")


def _probe(base, method, path, token) -> int | None:
    return run._status(base + path, method, token)


def _layer(base, name, tokens, args) -> dict:
    method, path, _ = LAYERS[name]
    status = _probe(base, method, path, tokens[0])
    if status != 200:
        print(f"--- {name}: {method} {path} answers {status} to a probe; measuring anyway")
    if method == "GET":
        load.warm(base, method, path, tokens[:200], connections=8)
    return _interleaved(base, name, method, path, tokens, args, keyed=name in IDEMPOTENCY_KEYS)


def _hot(base, name, tokens, args) -> dict:
    method, path = run._endpoints()[name]
    probe = tokens[-1]  # POST /signin: the probe uses a member the measurement does not
    status = _probe(base, method, path, probe)
    if status not in (200, 201):
        print(f"--- {name}: {method} {path} answers {status} to a probe; measuring anyway")
    if method == "GET":
        started = time.monotonic()
        ok = load.warm(base, method, path, tokens[:-1], connections=16)
        print(f"    {name} warm-up: every member once ({ok} answered 2xx) in {time.monotonic() - started:.1f}s")
    return _interleaved(base, name, method, path, tokens[:-1], args, consume=method == "POST")


def _interleaved(base, name, method, path, tokens, args, *, keyed=False, consume=False) -> dict:
    """bare and the route in turns, --slices of each (as bench/run.py's _interleaved); a consuming route
    (POST /signin) starts each slice past the members the slices before it may have reached."""
    slices, bare, used = [], [], 0

    def wrk(m, p, toks, keyed_=False):
        return PinnedWrk(base, m, p, toks, seconds=args.slice_seconds, connections=args.connections,
                         threads=args.threads, keyed=keyed_).run()

    for _ in range(args.slices):
        bare.append(wrk("GET", "/bench/bare", tokens))
        slices.append(wrk(method, path, tokens[used:], keyed))
        if consume:
            used = min(used + (slices[-1]["requests"] + args.connections) * args.threads, len(tokens) - 2)
    p50s = sorted(s.get("p50_ms") or 0 for s in slices)
    result = {"rps": sum(s["rps"] for s in slices) / len(slices), "bare_rps": sum(s["rps"] for s in bare) / len(bare),
              "requests": sum(s["requests"] for s in slices), "errors": sum(s["errors"] for s in slices),
              "p50_ms": p50s[len(p50s) // 2], "p99_ms": max(s.get("p99_ms") or 0 for s in slices),
              "bare_p50_ms": sorted(s.get("p50_ms") or 0 for s in bare)[len(bare) // 2],
              "slices_rps": [round(s["rps"]) for s in slices], "bare_slices_rps": [round(s["rps"]) for s in bare]}
    if consume:
        result["members_used"] = used
    result["cost_us"] = (1 / result["rps"] - 1 / result["bare_rps"]) * 1e6
    print(f"--- {name}: {result['rps']:.0f} req/s (slices {result['slices_rps']}), bare {result['bare_rps']:.0f} "
          f"(slices {result['bare_slices_rps']}), {result['cost_us']:+.0f} µs/request, {result['errors']} not 2xx, "
          f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    if consume and used >= len(tokens) - 2:
        print("    (the members ran out: later sign-ins were repeats answering 409; raise --members)")
    return result


def _check_side_effects(database_url, redis_url, results) -> None:
    """The layers did their work: the bench rows were updated, the index bits written, keys claimed."""
    import psycopg
    import redis
    with psycopg.connect(database_url) as conn:
        bumps = conn.execute("SELECT coalesce(sum(n), 0) FROM bench_layer_row").fetchone()[0]
        keys = conn.execute("SELECT count(*), count(status_code) FROM idempotency_record "
                            "WHERE principal = 'bench:layers'").fetchone()
    bits = sum(1 for _ in redis.Redis.from_url(redis_url).scan_iter("bench:layer:*", count=1000))
    print(f"==> checks: bench_layer_row updated {bumps} times; {bits} bench:layer:* index keys in Redis; "
          f"{keys[0]} Idempotency-Key records of bench:layers ({keys[1]} with a stored answer)")


def _report(results, args) -> None:
    print(f"\n==> layers over bare: 1 gunicorn worker × 8 threads on core {SERVER_CPU}, wrk on core {LOAD_CPU} "
          f"({args.connections} connections), {args.slices} × {args.slice_seconds}s turns with bare")
    print("µs/req over bare = 1/rps − 1/bare_rps (bare measured in turns with each row); "
          "PostgreSQL and Redis run on either core, unpinned")
    head = f"{'layer / endpoint':18} {'adds':58} {'req/s':>7} {'bare':>7} {'ratio':>6} {'µs/req':>7} " \
           f"{'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7}"
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        what = LAYERS[name][2] if name in LAYERS else " ".join(run._endpoints()[name])
        print(f"{name:18} {what[:58]:58} {r['rps']:7.0f} {r['bare_rps']:7.0f} {r['rps'] / r['bare_rps']:6.2f} "
              f"{r['cost_us']:+7.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['errors']:7d}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
        print(f"==> written to {args.json}")


if __name__ == "__main__":
    main()
