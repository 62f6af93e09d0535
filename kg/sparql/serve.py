"""A read-only SPARQL 1.1 Protocol endpoint at /sparql: a Starlette (ASGI) app under uvicorn.

GET/HEAD /sparql?query=…, POST with `application/sparql-query` or a form `query=…`, OPTIONS.
Results: SPARQL JSON by default, CSV/TSV/XML on request (Accept); CONSTRUCT/DESCRIBE as
Turtle, N-Triples, JSON-LD or RDF/XML. Updates get 403, SERVICE too (it would make this
server send HTTP requests wherever a client asks), syntax errors 400 with the parser's message.

Why this stack: ASGI tells the app when a client hangs up (`http.disconnect`), so a query
nobody waits for is stopped; uvicorn parses HTTP with h11 (a bad or negative Content-Length is
a 400 before any app code runs), listens with a deep backlog and is what Starlette/FastAPI
deployments run in production. Queries run in killable worker processes (workers.py): that is
how the time limit is enforced. Limits: `timeout` seconds per query (504 past it), `max_rows`
rows or triples per answer (the first ones, with `X-Truncated`), `workers` queries at once
and `max_queue` waiting (503 with Retry-After beyond), `max_body` bytes per request (413).
Every request is logged as one JSON line on the `kg.sparql.access` logger.

The explorer (/explore/): a static page (assets/explore.*) over JSON requests at /explore/api/…
(explore.py): search by name or alias in the name index (names.py, SQLite FTS5, built beside the
store on first serve), an entity's edges (paged), the sentences behind an edge or an entity.
They run in a pool of their own, with the same limits, so browsing never waits behind SPARQL
clients' queries and never takes their workers.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.sparql import names, store
from kg.sparql import query as q
from kg.sparql.results import GRAPHS, RESULTS, Answer, negotiate  # noqa: F401  (part of this module's API)
from kg.sparql.workers import ClientGone, Job, Overloaded, Pool, TimedOut, WorkerError

access_log = logging.getLogger("kg.sparql.access")
log = logging.getLogger("kg.sparql")
ALLOW = "GET, HEAD, POST, OPTIONS"
RETRY_AFTER = 1  # seconds a refused client should wait
ASSETS = Path(__file__).parent / "assets"
PAGES = {"": ("explore.html", "text/html; charset=utf-8"),  # the explorer's files, by URL under /explore/
         "explore.js": ("explore.js", "text/javascript; charset=utf-8"),
         "explore.css": ("explore.css", "text/css; charset=utf-8")}
# the page loads its own script and style only, and talks to this server only: a name that
# smuggled in markup could not run a script even if it reached the DOM as HTML
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


@dataclass
class Limits:
    timeout: float = 10.0          # seconds per query, queueing excluded
    max_rows: int = 10_000         # rows (SELECT) or triples (CONSTRUCT) per answer
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)  # queries at once
    max_queue: int = 512           # requests waiting for a worker
    max_body: int = 1_000_000      # bytes; a query is text, anything bigger is a mistake or abuse
    explore_workers: int = 2       # explorer requests at once (a pool apart from the SPARQL one)


class Problem(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers or {}


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(f"{message}\n", status, {"Cache-Control": "no-store", **(headers or {})},
                    media_type="text/plain; charset=utf-8")


def _from_form(form: str) -> str:
    params = parse_qs(form, keep_blank_values=True)
    if "update" in params:
        raise Problem(403, "read-only endpoint: updates are not allowed")
    if "default-graph-uri" in params or "named-graph-uri" in params:
        raise Problem(400, "default-graph-uri/named-graph-uri: not supported (one graph)")
    queries = params.get("query", [])
    if len(queries) != 1:
        raise Problem(400, "give exactly one 'query' parameter")
    return queries[0]


async def _from_body(request: Request, limit: int) -> str:
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype == "application/sparql-update":
        raise Problem(403, "read-only endpoint: updates are not allowed")
    if ctype not in ("application/sparql-query", "application/x-www-form-urlencoded"):
        raise Problem(415, "POST application/sparql-query or application/x-www-form-urlencoded")
    length = request.headers.get("content-length")
    if length is None and "chunked" not in request.headers.get("transfer-encoding", "").lower():
        raise Problem(411, "Content-Length required")
    if length is not None and int(length) > limit:  # h11 has checked it is a non-negative integer
        raise Problem(413, f"request body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Problem(413, f"request body over {limit} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "the request body is not UTF-8") from None
    return text if ctype == "application/sparql-query" else _from_form(text)


async def _hang_up(receive: Receive) -> None:
    """Returns when the client disconnects (after the request body has been read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _in_worker(pool: Pool, job: Job, request: Request) -> Answer | Response:
    """The worker's answer to `job`, or the response that says why there is none."""
    gone = asyncio.ensure_future(_hang_up(request.receive))
    try:
        return await pool.call(job, gone)
    except Overloaded as err:
        return _text(503, f"busy: {err}; retry later", {"Retry-After": str(RETRY_AFTER)})
    except TimedOut as err:
        return _text(504, f"query stopped: {err}")
    except ClientGone:
        return Response(status_code=499)  # nobody reads it; the access log does
    except WorkerError as err:
        return _text(500, str(err))
    except asyncio.CancelledError:  # the server is shutting down with this request still running
        return _text(503, "the server is shutting down", {"Retry-After": str(RETRY_AFTER)})
    finally:
        gone.cancel()


def create_app(store_path: Path, limits: Limits, index_path: Path | None = None) -> Starlette:
    """The ASGI app over a store folder; the worker pools start and stop with it. Without the
    name index (`index_path`) the explorer is off (503)."""
    pool = Pool(str(store_path), limits.workers, limits.max_rows, limits.timeout, limits.max_queue)
    explorers = Pool(str(store_path), limits.explore_workers, limits.max_rows, limits.timeout, limits.max_queue,
                     str(index_path)) if index_path else None
    pages = {name: ((ASSETS / file).read_bytes(), media) for name, (file, media) in PAGES.items()}

    async def sparql(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": ALLOW})
        note: dict[str, Any] = request.scope.setdefault("kg", {})
        try:
            if request.method == "POST":
                text = await _from_body(request, limits.max_body)
            else:
                text = _from_form(request.url.query)
            note["query"] = text[:300]
            if q.is_update(text):
                raise Problem(403, "read-only endpoint: updates are not allowed")
            if q.uses_service(text):
                raise Problem(403, "SERVICE (federated query) is disabled here")
        except Problem as err:
            return _text(err.status, str(err))
        except ClientDisconnect:
            return Response(status_code=499)
        answer = await _in_worker(pool, ("sparql", text, request.headers.get("accept")), request)
        if isinstance(answer, Response):
            return answer
        note.update(rows=answer.rows, truncated=answer.truncated)
        # the media type as negotiated (Starlette would add a charset to text/turtle)
        headers = {"Cache-Control": "no-store", "Content-Type": answer.media}
        if answer.truncated:
            headers["X-Truncated"] = f"max-rows={limits.max_rows}"
        return Response(answer.body, answer.status, headers)

    async def page(request: Request) -> Response:
        if (found := pages.get(request.path_params.get("file", ""))) is None:
            return await not_found(request, KeyError())
        body, media = found
        return Response(body, 200, PAGE_HEADERS, media_type=media)

    async def to_explorer(request: Request) -> Response:
        return RedirectResponse("/explore/", 302)

    async def explore(request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if explorers is None:
            return _text(503, "the explorer is off: no name index (see the server log)")
        op = request.path_params["op"]
        params = {k: v for k, v in request.query_params.items()}
        request.scope.setdefault("kg", {})["explore"] = {k: v[:100] for k, v in params.items()}
        answer = await _in_worker(explorers, ("explore", op, params), request)
        if isinstance(answer, Response):
            return answer
        return Response(answer.body, answer.status, headers, media_type=answer.media)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _text(404, "not found; the SPARQL endpoint is /sparql, the explorer /explore/")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _text(405, f"method not allowed; use {ALLOW}", {"Allow": ALLOW})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.gather(pool.start(), *([explorers.start()] if explorers else []))
        try:
            yield
        finally:
            await asyncio.gather(pool.stop(), *([explorers.stop()] if explorers else []))

    app = Starlette(routes=[Route("/sparql", sparql, methods=["GET", "HEAD", "POST", "OPTIONS"]),
                            Route("/sparql/", sparql, methods=["GET", "HEAD", "POST", "OPTIONS"]),
                            Route("/", to_explorer), Route("/explore", to_explorer),
                            Route("/explore/", page), Route("/explore/{file:str}", page),
                            Route("/explore/api/{op:str}", explore)],
                    exception_handlers={404: not_found, 405: not_allowed}, lifespan=lifespan)
    app.state.pool, app.state.explorers = pool, explorers
    return app


class AccessLog:
    """ASGI middleware: one JSON line per request (time, client, method, path, status, bytes,
    duration; rows, truncated and the query's start when a query ran)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, seen = time.perf_counter(), {"status": 0, "bytes": 0}

        async def tap(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body" and scope["method"] != "HEAD":  # uvicorn drops it
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, tap)
        finally:
            client = scope.get("client") or ("", 0)
            record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "client": f"{client[0]}:{client[1]}",
                      "method": scope["method"], "path": scope["path"], "status": seen["status"] or 500,
                      "bytes": seen["bytes"], "ms": round((time.perf_counter() - start) * 1000, 1),
                      **scope.get("kg", {})}
            access_log.info(json.dumps(record, ensure_ascii=False))


class SparqlServer:
    """Binds at once (port 0 picks a free port, see `.url`); `serve_forever()` blocks until
    `shutdown()` or Ctrl-C. An RDF file is first bulk-loaded into a temporary store folder
    that the workers share read-only; `close()` removes it."""

    def __init__(self, graph: Path, host: str = "127.0.0.1", port: int = 8000,
                 limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        # IPPROTO_TCP spelled out: asyncio disables Nagle only on sockets that say so; without
        # it each response (headers, then body) waits 40 ms for the client's delayed ACK
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                                  socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tmp: str | None = None
        try:
            self.sock.bind((host, port))
            self.store_path = self._prepare(Path(graph))
            self.index_path = self._index()
        except BaseException:
            self.close()
            raise
        config = uvicorn.Config(AccessLog(create_app(self.store_path, self.limits, self.index_path)), lifespan="on",
                                log_level="warning", access_log=False, backlog=2048,
                                timeout_keep_alive=5, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)

    def _prepare(self, graph: Path) -> Path:
        if graph.is_dir():
            store.open_graph(graph)  # a clear error now rather than in every worker
            return graph
        store.check_file(graph)
        self._tmp = tempfile.mkdtemp(prefix="kg-serve-")
        store.load_store(graph, Path(self._tmp) / "store")
        return Path(self._tmp) / "store"

    def _index(self) -> Path | None:
        """The name index beside the store (built now if missing or stale); in a temporary folder
        when it cannot be written there; None (explorer off) when SQLite cannot make one."""
        try:
            names.check_sqlite()
            return names.ensure(self.store_path)
        except names.NameIndexError as err:
            if self._tmp is not None or sqlite3.sqlite_version_info < names.MIN_SQLITE:
                log.warning("explorer off: %s", err)
                return None
        self._tmp = tempfile.mkdtemp(prefix="kg-serve-")
        try:
            return names.ensure(self.store_path, Path(self._tmp) / names.path_for(self.store_path).name)
        except names.NameIndexError as err:
            log.warning("explorer off: %s", err)
            return None

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/sparql"

    @property
    def explorer_url(self) -> str | None:
        return self.url.removesuffix("sparql") + "explore/" if self.index_path else None

    def serve_forever(self) -> None:
        self.server.run(sockets=[self.sock])
        if not self.server.started:
            raise WorkerError("the server did not start (see the log above)")

    def shutdown(self) -> None:
        self.server.should_exit = True

    def close(self) -> None:
        self.sock.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


def make_server(graph: Path, host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None) -> SparqlServer:
    """A bound, not yet serving server; port 0 picks a free port (see `.url`)."""
    return SparqlServer(graph, host, port, limits)
