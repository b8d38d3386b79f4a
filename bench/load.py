"""Bounded load generators on loopback: wrk with a token-rotating script, or Python threads; and a
burst of one attempt per token (the flash sale)."""
import asyncio
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
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
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
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


class Wrk:
    def __init__(self, base, method, path, tokens, *, seconds, connections, threads):
        self.base, self.method, self.path, self.tokens = base, method, path, tokens
        self.seconds, self.connections, self.threads = seconds, connections, threads

    def run(self) -> dict:
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
            script, token_file = Path(tmp, "rotate.lua"), Path(tmp, "tokens.txt")
            script.write_text(WRK_LUA)
            token_file.write_text("\n".join(self.tokens) + "\n")
            out = subprocess.run(
                ["wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{self.seconds}s", "--timeout", "10s",
                 "--latency", "-s", str(script), self.base + "/", "--", str(self.threads), self.method, self.path],
                env={"BENCH_TOKENS": str(token_file), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                timeout=self.seconds + 60, check=True).stdout
        return _parse_wrk(out)


def _parse_wrk(out: str) -> dict:
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
              "errors": int(non_2xx.group(1)) if non_2xx else 0}
    if socket_errors:
        result["errors"] += sum(int(n) for n in socket_errors.groups())
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        if m := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
            result[key] = round(float(m.group(1)) * UNITS[m.group(2)], 2)
    return result


class PythonLoad(Wrk):
    """The same measurement with threads and keep-alive http.client connections (no wrk installed)."""

    def run(self) -> dict:
        deadline = time.monotonic() + self.seconds
        counts, latencies, lock = {"ok": 0, "errors": 0}, [], threading.Lock()
        next_token = iter(range(10 ** 12))

        def worker():
            url = urlsplit(self.base)
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            ok = errors = 0
            mine = []
            while time.monotonic() < deadline:
                token = self.tokens[next(next_token) % len(self.tokens)]
                started = time.perf_counter()
                try:
                    conn.request(self.method, self.path, body=b"{}" if self.method == "POST" else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                    res = conn.getresponse()
                    res.read()
                    ok, errors = (ok + 1, errors) if res.status < 300 else (ok, errors + 1)
                except (OSError, http.client.HTTPException):
                    errors += 1
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
        return {"rps": total / elapsed, "requests": total, "errors": counts["errors"],
                "p50_ms": pick(0.5) if pick else None, "p99_ms": pick(0.99) if pick else None}


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
