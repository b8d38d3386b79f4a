"""Bounded load generators on loopback: wrk with a token-rotating script, or Python threads; either
also walking a list of bodies, each sent once (single-use member codes); and a burst of one attempt
per token (the flash sale)."""
import asyncio
import contextlib
import http.client
import json
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

# Each wrk thread walks its own stride of the token list, so POST /signin meets distinct members.
WRK_LUA = r"""
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local count, threads = 0, {}
function setup(thread)
  thread:set("id", count)
  count = count + 1
  threads[#threads + 1] = thread
end
function done(summary, latency, requests)
  local next_idx = 0
  for _, thread in ipairs(threads) do next_idx = math.max(next_idx, thread:get("idx") or 0) end
  io.write("BENCH_NEXT\t", next_idx, "\n")
end
function init(args)
  nthreads, method, path = tonumber(args[1]), args[2], args[3]
  idx = id
end
function request()
  local token = tokens[(idx % #tokens) + 1]
  idx = idx + nthreads
  local body = nil
  if method == "POST" then body = "{}" end
  return wrk.format(method, path, {["Authorization"] = "Bearer " .. token,
                                   ["Content-Type"] = "application/json"}, body)
end
"""
# One token, a list of bodies (one a line): each wrk thread walks its own stride of the list and sends
# each body once, never wrapping (past the end: a body no endpoint accepts, counted as a failure). The
# answers are tallied by status (and error code, for all but 200); done() prints the tally and how far
# each thread went, for the caller to parse (BENCH_STATUS / BENCH_NEXT lines).
WRK_BODIES_LUA = r"""
local token = io.lines(os.getenv("BENCH_TOKENS"))()
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local threads, count = {}, 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
  threads[#threads + 1] = thread
end
function init(args)
  nthreads, method, path = tonumber(args[1]), args[2], args[3]
  idx, statuses = id, {}
end
function request()
  local body = bodies[idx + 1] or '{"member_code": "past the end of the list"}'
  idx = idx + nthreads
  return wrk.format(method, path, {["Authorization"] = "Bearer " .. token,
                                   ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  local key = tostring(status)
  if status ~= 200 and body then
    local code = string.match(body, '"code"%s*:%s*"([^"]*)"')
    if code then key = key .. " " .. code end
  end
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  local total, next_idx = {}, 0
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("statuses") or {}) do total[key] = (total[key] or 0) + n end
    next_idx = math.max(next_idx, thread:get("idx") or 0)
  end
  for key, n in pairs(total) do io.write("BENCH_STATUS\t", key, "\t", n, "\n") end
  io.write("BENCH_NEXT\t", next_idx, "\n")
end
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


class Wrk:
    """`bodies` (a list of JSON strings): the first token only, each body sent once (see WRK_BODIES_LUA);
    the result then also has `statuses` (answers by status and error code) and `next` (the index of
    the first body no thread reached)."""

    def __init__(self, base, method, path, tokens, *, seconds, connections, threads, bodies=None, prefix=()):
        self.base, self.method, self.path, self.tokens = base, method, path, tokens
        self.seconds, self.connections, self.threads, self.bodies = seconds, connections, threads, bodies
        self.prefix = list(prefix)  # e.g. ["taskset", "-c", "1"]: wrk pinned to a core

    def run(self) -> dict:
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
            script, token_file, body_file = Path(tmp, "rotate.lua"), Path(tmp, "tokens.txt"), Path(tmp, "bodies.txt")
            script.write_text(WRK_LUA if self.bodies is None else WRK_BODIES_LUA)
            token_file.write_text("\n".join(self.tokens) + "\n")
            body_file.write_text("".join(body + "\n" for body in self.bodies or ()))
            out = subprocess.run(
                [*self.prefix, "wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{self.seconds}s", "--timeout", "10s",
                 "--latency", "-s", str(script), self.base + "/", "--", str(self.threads), self.method, self.path],
                env={"BENCH_TOKENS": str(token_file), "BENCH_BODIES": str(body_file), "PATH": "/usr/bin:/bin"},
                capture_output=True, text=True, timeout=self.seconds + 60, check=True).stdout
        result = _parse_wrk(out)
        if self.bodies is None and (m := re.search(r"^BENCH_NEXT\t(\d+)", out, re.MULTILINE)):
            result["next"] = int(m.group(1))  # the first token no thread reached (past the end: some were reused)
        if self.bodies is not None:
            result["statuses"] = {key: int(n) for key, n in re.findall(r"^BENCH_STATUS\t([^\t]*)\t(\d+)$", out, re.MULTILINE)}
            result["next"] = int(re.search(r"^BENCH_NEXT\t(\d+)", out, re.MULTILINE).group(1))
        return result


def _parse_wrk(out: str) -> dict:
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
              "errors": int(non_2xx.group(1)) if non_2xx else 0}
    if socket_errors:
        result["socket_errors"] = sum(int(n) for n in socket_errors.groups())
        result["errors"] += result["socket_errors"]
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        if m := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE):
            result[key] = round(float(m.group(1)) * UNITS[m.group(2)], 2)
    # the thread stats' latency line: average, stdev, max, +/- stdev
    if m := re.search(r"^\s+Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)\s", out, re.MULTILINE):
        result["max_ms"] = round(float(m.group(1)) * UNITS[m.group(2)], 2)
    return result


class PythonLoad(Wrk):
    """The same measurement with threads and keep-alive http.client connections (no wrk installed)."""

    def run(self) -> dict:
        deadline = time.monotonic() + self.seconds
        counts, latencies, lock, statuses = {"ok": 0, "errors": 0}, [], threading.Lock(), {}
        next_token = iter(range(10 ** 12))
        taken = [0]  # bodies handed out (each once, never wrapping)

        def worker():
            url = urlsplit(self.base)
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            ok = errors = 0
            mine = []
            while time.monotonic() < deadline:
                n = next(next_token)
                if self.bodies is None:
                    token, body = self.tokens[n % len(self.tokens)], b"{}" if self.method == "POST" else None
                else:
                    token, body = self.tokens[0], (self.bodies[n] if n < len(self.bodies)
                                                   else '{"member_code": "past the end of the list"}').encode()
                    with lock:
                        taken[0] = max(taken[0], n + 1)
                started = time.perf_counter()
                try:
                    conn.request(self.method, self.path, body=body,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                    res = conn.getresponse()
                    raw = res.read()
                    ok, errors = (ok + 1, errors) if res.status < 300 else (ok, errors + 1)
                    if self.bodies is not None:
                        key = str(res.status)
                        if res.status != 200:
                            with contextlib.suppress(ValueError, AttributeError, TypeError):
                                key += f" {json.loads(raw)['error']['code']}"
                        with lock:
                            statuses[key] = statuses.get(key, 0) + 1
                except (OSError, http.client.HTTPException):
                    errors += 1
                    if self.bodies is not None:
                        with lock:
                            statuses["socket error"] = statuses.get("socket error", 0) + 1
                    conn.close()
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
                mine.append((time.perf_counter() - started) * 1000)
            conn.close()
            with lock:
                counts["ok"] += ok
                counts["errors"] += errors
                latencies.extend(mine)

        started = time.monotonic()
        workers = [threading.Thread(target=worker, daemon=True) for _ in range(self.connections)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(self.seconds + 30)
        elapsed = time.monotonic() - started
        latencies.sort()
        total = counts["ok"] + counts["errors"]
        pick = (lambda q: round(latencies[min(int(q * len(latencies)), len(latencies) - 1)], 2)) if latencies else None
        result = {"rps": total / elapsed, "requests": total, "errors": counts["errors"],
                  "p50_ms": pick(0.5) if pick else None, "p99_ms": pick(0.99) if pick else None,
                  "max_ms": round(latencies[-1], 2) if latencies else None}
        if self.bodies is not None:
            result.update(statuses=dict(sorted(statuses.items())), next=taken[0])
        return result


def warm(base, method, path, tokens, *, connections) -> int:
    """One request per token, unmeasured: the state a member's daily use leaves (a warm Redis index).
    Returns how many answered 2xx."""
    url, todo, ok, lock = urlsplit(base), iter(tokens), [0], threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        for token in todo:  # the iterator is shared: each token once across the threads
            conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
            res = conn.getresponse()
            res.read()
            if res.status < 300:
                with lock:
                    ok[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok[0]


def burst(base, method, path, tokens, body: bytes, *, concurrency, timeout=60.0) -> tuple[list[dict], float]:
    """Each token exactly once, as a client of its own (a new connection, `Connection: close`), at most
    `concurrency` in flight: asyncio on raw sockets, so that the client costs little beside the server.
    Returns one record per attempt (status, error code and details, latency in ms, done_s: when it was
    answered, from the start of the burst) and the wall time from the first send to the last answer."""
    url = urlsplit(base)
    heads = [(f"{method} {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
             .encode() + body for token in tokens]

    async def attempt(request, gate, t0):
        async with gate:
            started = time.perf_counter()
            status, code, details = None, None, None
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(url.hostname, url.port), timeout)
                try:
                    writer.write(request)
                    await writer.drain()
                    status, error = _answer(await asyncio.wait_for(reader.read(), timeout))
                    code, details = (error.get("code"), error.get("details")) if error else (None, None)
                finally:
                    writer.close()
            except (OSError, ValueError, IndexError) as exc:  # TimeoutError is an OSError
                code = type(exc).__name__
            finished = time.perf_counter()
            return {"status": status, "code": code, "details": details, "ms": (finished - started) * 1000,
                    "done_s": finished - t0}

    async def run():
        gate, t0 = asyncio.Semaphore(concurrency), time.perf_counter()
        results = await asyncio.gather(*(attempt(request, gate, t0) for request in heads))
        return results, time.perf_counter() - t0

    return asyncio.run(run())


def _answer(raw: bytes) -> tuple[int, dict | None]:
    """The status and the error (`{"error": {"code": …, "details": …}}`) of a whole HTTP/1.1 response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines[1:]):
        body = _unchunked(body)
    try:
        error = json.loads(body).get("error") if body else None
    except ValueError:
        error = None
    return status, error if isinstance(error, dict) else None


def _unchunked(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size, _, body = body.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if not n:
            break
        out += body[:n]
        body = body[n + 2:]
    return bytes(out)
