"""Load test of `kg serve`: requests/s and latency (p50, p99) for 1, 20 and 200 concurrent clients.

    python benchmarks/load_benchmark.py [--seconds 5] [--scale 1.0] [--skip-big]

Two graphs: the sample corpus built by kg.api.build, and the synthetic graph of
query_benchmark.py (--scale 1.0: about a million triples). `kg serve` runs as its own process
(default limits) on 127.0.0.1 only; the clients are asyncio connections in this process,
each sending its next request when the last is answered (keep-alive). Every level is bounded
by --seconds and --max-requests, and a request that takes over 30 s counts as timed out.
Queries: the ready queries/who_leads_what.rq on the sample graph; on the big graph an entity
lookup (queries/entity.rq for one organization), the endpoint's everyday work.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from kg.sparql import query  # noqa: E402  (after the path tweak, for a plain checkout)

REQUEST_TIMEOUT = 30.0
LEVELS = (1, 20, 200)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _client(port: int, raw: bytes, deadline: float, budget: list[int], out: dict) -> None:
    reader = writer = None
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        t = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            status = await asyncio.wait_for(_request(reader, writer, raw), REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            out["timeouts"] += 1
            status = 0
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            out["errors"] += 1
            status = 0
        if status:
            out["latencies"].append(time.perf_counter() - t)
            out["status"][status] = out["status"].get(status, 0) + 1
        if not status and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def level(port: int, text: str, clients: int, seconds: float, max_requests: int) -> dict:
    raw = (f"GET /sparql?{urlencode({'query': text})} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Accept: application/sparql-results+json\r\n\r\n").encode()
    out: dict = {"latencies": [], "status": {}, "timeouts": 0, "errors": 0}
    budget = [max_requests]
    start = time.perf_counter()
    await asyncio.gather(*(_client(port, raw, start + seconds, budget, out) for _ in range(clients)))
    out["wall"] = time.perf_counter() - start
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(graph: Path, extra: list[str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", str(graph), "--port", str(port), "--quiet",
                             *extra], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kg serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("kg serve did not answer within 600 s")


def _ms(latencies: list[float], q: float) -> float:
    """The q-quantile of sorted latencies, in ms."""
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")


def run_graph(name: str, graph: Path, text: str, args: argparse.Namespace) -> list[list[str]]:
    proc, port = serve(graph, ["--workers", str(args.workers)] if args.workers else [])
    rows = []
    try:
        for clients in LEVELS:
            r = asyncio.run(level(port, text, clients, args.seconds, args.max_requests))
            lat = sorted(r["latencies"])
            statuses = " ".join(f"{k}:{v}" for k, v in sorted(r["status"].items()))
            rows.append([name, str(clients), f"{len(lat):,}", f"{len(lat) / r['wall']:.0f}",
                         f"{_ms(lat, 0.5):.0f}", f"{_ms(lat, 0.99):.0f}",
                         f"{statistics.mean(lat) * 1000:.0f}" if lat else "-",
                         str(r["timeouts"]), str(r["errors"]), statuses])
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per level (default: 5)")
    ap.add_argument("--max-requests", type=int, default=20_000, help="per level (default: 20000)")
    ap.add_argument("--scale", type=float, default=1.0, help="big graph size; 1.0 is about a million triples")
    ap.add_argument("--workers", type=int, help="kg serve --workers (default: its own default)")
    ap.add_argument("--skip-big", action="store_true", help="only the sample graph")
    args = ap.parse_args()
    from kg import api

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample"
        api.build(ROOT / "examples" / "corpus", sample)
        rows += run_graph("sample", sample / "graph.ttl", query.read_query(str(ROOT / "queries" / "who_leads_what.rq")),
                          args)
        if not args.skip_big:
            import pyoxigraph as ox
            from query_benchmark import Synth
            synth = Synth(args.scale, 7)
            big = Path(tmp) / "big.ttl"
            with big.open("wb") as f:
                ox.serialize(synth.triples(), f, format=ox.RdfFormat.TURTLE)
            org = next(v for v in synth.labels.values() if v.endswith("局"))
            entity = query.set_params(query.read_query(str(ROOT / "queries" / "entity.rq")), {"name": org})
            n = sum(1 for _ in ox.parse(path=str(big), format=ox.RdfFormat.TURTLE))
            rows += run_graph(f"{n / 1e6:.2f}M triples", big, entity, args)
    print(f"kg serve load test: {args.seconds:g} s per level, CPU count {os.cpu_count()}, "
          f"request timeout {REQUEST_TIMEOUT:g} s")
    print(query.table(["graph", "clients", "requests", "req/s", "p50 ms", "p99 ms", "mean ms", "timeouts",
                       "errors", "statuses"], rows), end="")


if __name__ == "__main__":
    main()
