"""A read-only SPARQL 1.1 Protocol endpoint at /sparql over one graph (stdlib http.server).

GET /sparql?query=…, POST with `application/sparql-query` or a form `query=…`. Results:
SPARQL JSON by default, CSV/TSV/XML on request (Accept); CONSTRUCT/DESCRIBE as Turtle,
N-Triples, JSON-LD or RDF/XML. Updates get 403, SERVICE too (it would make this server
send HTTP requests wherever a client asks), syntax errors 400 with the parser's message.
"""
from __future__ import annotations

import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

from kg import query as q

MAX_BODY = 1_000_000  # bytes; a query is text, anything bigger is a mistake or abuse
RESULTS = {  # media type -> format; the first is the default
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
}
GRAPHS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


class HTTPError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def negotiate(accept: str | None, offers: dict) -> str:
    """The offered media type the client prefers most (q-values honoured); the first offer
    when nothing matches, so browsers and bare clients still get an answer."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept or "").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        weight = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    weight = float(p[2:])
                except ValueError:
                    weight = 0.0
        ranked.append((-weight, i, media.lower()))
    for neg_weight, _, media in sorted(ranked):
        if neg_weight >= 0:  # q=0 means "not this"
            continue
        if media in offers:
            return media
        if media in ("*/*", "application/*"):
            return next(iter(offers))
    return next(iter(offers))


class SparqlServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must not keep the process alive on Ctrl-C

    def __init__(self, address: tuple[str, int], store: ox.Store, quiet: bool = False) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.quiet = quiet

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/sparql"


class Handler(BaseHTTPRequestHandler):
    server: SparqlServer
    server_version = "zhkg-sparql"
    timeout = 30  # seconds a client may take to send its request

    def do_GET(self) -> None:
        self._handle(lambda: self._from_form(urlsplit(self.path).query))

    def do_POST(self) -> None:
        self._handle(self._from_body)

    def _handle(self, read_query) -> None:
        try:
            if urlsplit(self.path).path.rstrip("/") != "/sparql":
                raise HTTPError(HTTPStatus.NOT_FOUND, "not found; the SPARQL endpoint is /sparql")
            text = read_query()
            if q.is_update(text):
                raise HTTPError(HTTPStatus.FORBIDDEN, "read-only endpoint: updates are not allowed")
            if q.uses_service(text):
                raise HTTPError(HTTPStatus.FORBIDDEN, "SERVICE (federated query) is disabled here")
            media, body = self._answer(text)
        except HTTPError as err:
            self._send(err.status, "text/plain; charset=utf-8", f"{err}\n".encode())
            return
        self._send(HTTPStatus.OK, media, body)

    def _from_form(self, form: str) -> str:
        params = parse_qs(form, keep_blank_values=True)
        if "update" in params:
            raise HTTPError(HTTPStatus.FORBIDDEN, "read-only endpoint: updates are not allowed")
        if "default-graph-uri" in params or "named-graph-uri" in params:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "default-graph-uri/named-graph-uri: not supported (one graph)")
        queries = params.get("query", [])
        if len(queries) != 1:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "give exactly one 'query' parameter")
        return queries[0]

    def _from_body(self) -> str:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/sparql-update":
            raise HTTPError(HTTPStatus.FORBIDDEN, "read-only endpoint: updates are not allowed")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required") from None
        if length > MAX_BODY:
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY} bytes")
        try:
            body = self.rfile.read(length).decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the request body is not UTF-8") from None
        if ctype == "application/sparql-query":
            return body
        if ctype == "application/x-www-form-urlencoded":
            return self._from_form(body)
        raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                        "POST application/sparql-query or application/x-www-form-urlencoded")

    def _answer(self, text: str) -> tuple[str, bytes]:
        try:
            result = q.run(self.server.store, text)
            accept = self.headers.get("Accept")
            if isinstance(result, ox.QueryTriples):
                media = negotiate(accept, GRAPHS)
                return media, ox.serialize(result, format=GRAPHS[media])
            media = negotiate(accept, RESULTS)
            media = "application/sparql-results+json" if media == "application/json" else media
            charset = "; charset=utf-8" if media.startswith("text/") else ""
            return media + charset, result.serialize(format=RESULTS[media])
        except q.QueryError as err:
            raise HTTPError(HTTPStatus.BAD_REQUEST, str(err)) from err
        except (OSError, RuntimeError, ValueError) as err:  # evaluation failed half-way
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"query failed: {' '.join(str(err).split())}") from err

    def _send(self, status: HTTPStatus, media: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def make_server(store: ox.Store, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False) -> SparqlServer:
    """A bound, not yet serving server; port 0 picks a free port (see `.url`)."""
    return SparqlServer((host, port), store, quiet)
