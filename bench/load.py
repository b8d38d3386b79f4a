"""Bounded load generators on loopback: wrk with a token-rotating script, or Python threads."""
import http.client
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
