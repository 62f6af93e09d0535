"""`kg serve`: the SPARQL 1.1 Protocol endpoint, tested over real HTTP on 127.0.0.1 (port 0,
a thread inside the test, every request with a timeout)."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

import kg.cli
from kg.sparql import serve, store

TIMEOUT = 10  # seconds per request: a hung server fails the test instead of stalling it
WHO_LEADS = ("SELECT ?person ?org WHERE { ?p kg:leads ?o . ?p rdfs:label ?person . ?o rdfs:label ?org }")


@contextmanager
def running(graph: Path, limits: serve.Limits | None = None) -> Iterator[serve.SparqlServer]:
    """A server in a thread, ready (its workers started) when the block begins."""
    server = serve.make_server(graph, "127.0.0.1", 0, limits or serve.Limits(workers=2))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        server.close()


@pytest.fixture(scope="module")
def endpoint(corpus_build) -> Iterator[str]:
    with running(corpus_build[1] / "graph.ttl") as server:
        yield server.url


def call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         method: str | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body), for error statuses too."""
    try:
        with urlopen(Request(url, data=data, headers=headers or {}, method=method), timeout=TIMEOUT) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except HTTPError as err:
        with err:
            return err.code, err.headers.get("Content-Type", ""), err.read()


def get(endpoint: str, query: str, **headers: str) -> tuple[int, str, bytes]:
    return call(f"{endpoint}?{urlencode({'query': query})}", headers=headers)


def pairs(body: bytes) -> set[tuple[str, str]]:
    data = json.loads(body)
    # a relative name (区建筑工务中心) is qualified by its article's place in the merged graph
    return {(b["person"]["value"], re.sub(r"^.+新区(?=建筑工务中心)", "区", b["org"]["value"]))
            for b in data["results"]["bindings"]}


EXPECTED = {("侯万里", "区建筑工务中心"), ("刘玮", "工委军民融合办")}


def test_get_select_answers_sparql_json(endpoint):
    status, ctype, body = get(endpoint, WHO_LEADS)
    assert status == 200 and ctype == "application/sparql-results+json"
    assert json.loads(body)["head"]["vars"] == ["person", "org"]
    assert EXPECTED <= pairs(body)


def test_post_sparql_query_body(endpoint):
    status, ctype, body = call(endpoint, WHO_LEADS.encode(), {"Content-Type": "application/sparql-query"})
    assert status == 200 and EXPECTED <= pairs(body)


def test_post_form(endpoint):
    form = urlencode({"query": WHO_LEADS}).encode()
    status, _, body = call(endpoint, form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and EXPECTED <= pairs(body)


def test_ask(endpoint):
    status, ctype, body = get(endpoint, 'ASK { ?p rdfs:label "侯万里"@zh }')
    assert status == 200 and json.loads(body) == {"head": {}, "boolean": True}


def test_csv_on_request(endpoint):
    status, ctype, body = get(endpoint, WHO_LEADS, Accept="text/csv")
    assert status == 200 and ctype.startswith("text/csv")
    lines = body.decode("utf-8").splitlines()
    assert lines[0] == "person,org" and any(re.fullmatch(r"侯万里,.+新区建筑工务中心", line) for line in lines)


def test_browser_accept_gets_json(endpoint):
    status, ctype, _ = get(endpoint, WHO_LEADS, Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 200 and ctype == "application/sparql-results+json"


def test_construct_answers_turtle(endpoint):
    status, ctype, body = get(endpoint, "CONSTRUCT WHERE { ?p kg:leads ?o }")
    assert status == 200 and ctype == "text/turtle"
    assert b"leads" in body


@pytest.mark.parametrize("data, ctype", [
    (urlencode({"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}).encode(), "application/x-www-form-urlencoded"),
    (b"INSERT DATA { <urn:a> <urn:b> <urn:c> }", "application/sparql-update"),
    (b"PREFIX x: <urn:x#>\nDELETE WHERE { ?s ?p ?o }", "application/sparql-query"),
])
def test_updates_are_refused(endpoint, data, ctype):
    status, _, body = call(endpoint, data, {"Content-Type": ctype})
    assert status == 403 and b"read-only" in body
    assert get(endpoint, "ASK { <urn:a> <urn:b> <urn:c> }")[2] == b'{"head":{},"boolean":false}'


def test_update_in_get_is_refused(endpoint):
    status, _, body = get(endpoint, "DROP ALL")
    assert status == 403 and b"read-only" in body


def test_service_is_refused(endpoint):
    status, _, body = get(endpoint, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert status == 403 and b"SERVICE" in body


def test_bad_query_is_400_with_the_message(endpoint):
    status, ctype, body = get(endpoint, "SELECT ?x WHERE { ?x ?y }")
    assert status == 400 and ctype.startswith("text/plain")
    assert body.decode().startswith("bad query: error at 1:")


@pytest.mark.parametrize("url_suffix, data, headers, expected", [
    ("", None, {}, 400),                                   # no query at all
    ("", b"query=x", {"Content-Type": "text/plain"}, 415),  # unknown body type
])
def test_malformed_requests(endpoint, url_suffix, data, headers, expected):
    assert call(endpoint + url_suffix, data, headers)[0] == expected


def test_other_paths_are_404(endpoint):
    assert call(endpoint.replace("/sparql", "/admin"))[0] == 404


def test_concurrent_requests(endpoint):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: get(endpoint, WHO_LEADS), range(16)))
    assert all(status == 200 and EXPECTED <= pairs(body) for status, _, body in results)


def test_negotiate():
    offers = serve.RESULTS
    assert serve.negotiate(None, offers) == "application/sparql-results+json"
    assert serve.negotiate("text/csv;q=0.5, application/sparql-results+xml", offers) == "application/sparql-results+xml"
    assert serve.negotiate("text/csv, */*;q=0.1", offers) == "text/csv"
    assert serve.negotiate("image/png", offers) == "application/sparql-results+json"


def test_listens_on_localhost_by_default():
    args = kg.cli.parser().parse_args(["serve", "graph.ttl"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)


def test_port_in_use_exits_2(corpus_build, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert kg.cli.main(["serve", str(corpus_build[1] / "graph.ttl"), "--port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_missing_graph_exits_2(tmp_path, capsys):
    assert kg.cli.main(["serve", str(tmp_path / "none.ttl")]) == 2
    assert "no such file" in capsys.readouterr().err


# --- issue 10: limits, a real server stack, protocol details -----------------------------------

HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # n³ rows, counted before any answer


def raw(url: str, request: bytes, wait: float = TIMEOUT) -> bytes:
    """Send `request` bytes as they are and read the reply (for requests urllib refuses to make)."""
    host, port = url.split("/")[2].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and request.startswith(b"HEAD"):
                break
    return b"".join(chunks)


def until_answered(endpoint: str, query: str, within: float = 60) -> int:
    """The status of `query`, retried while the server says 503 (a worker is being replaced)."""
    deadline = time.monotonic() + within
    while (status := get(endpoint, query)[0]) == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
    return status


@pytest.fixture(scope="module")
def limited(corpus_build) -> Iterator[str]:
    """One worker, a 1.5 s time limit, 5 rows per answer, one request waiting at most."""
    with running(corpus_build[1] / "graph.ttl",
                 serve.Limits(timeout=1.5, max_rows=5, workers=1, max_queue=1)) as server:
        yield server.url


def test_issue10_query_time_limit_stops_the_query(limited):
    start = time.monotonic()
    status, _, body = get(limited, HEAVY)
    assert status == 504 and b"time limit" in body
    assert time.monotonic() - start < 6
    assert until_answered(limited, WHO_LEADS) == 200  # the killed worker was replaced


def test_issue10_max_rows_cuts_the_answer(limited):
    assert until_answered(limited, "ASK {}") == 200
    with urlopen(f"{limited}?{urlencode({'query': 'SELECT * WHERE { ?s ?p ?o }'})}", timeout=TIMEOUT) as r:
        data = json.loads(r.read())
        assert r.headers["X-Truncated"] == "max-rows=5"
    assert len(data["results"]["bindings"]) == 5
    status, _, body = get(limited, "CONSTRUCT WHERE { ?s ?p ?o }", Accept="application/n-triples")
    assert status == 200 and len(body.decode().strip().splitlines()) == 5


def test_issue10_excess_queries_get_503_with_retry_after(limited):
    assert until_answered(limited, "ASK {}") == 200
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: call(f"{limited}?{urlencode({'query': HEAVY})}"), range(4)))
    statuses = sorted(status for status, _, _ in results)
    assert 503 in statuses and set(statuses) <= {503, 504}
    with ThreadPoolExecutor(4) as pool:  # the Retry-After header
        futures = [pool.submit(urlopen, f"{limited}?{urlencode({'query': HEAVY})}", timeout=TIMEOUT)
                   for _ in range(4)]
        refused = []
        for f in futures:
            try:
                f.result().close()
            except HTTPError as err:
                if err.code == 503:
                    refused.append(err.headers["Retry-After"])
                err.close()
    assert refused and all(r and int(r) > 0 for r in refused)


def test_issue10_query_stops_when_the_client_leaves(corpus_build):
    # one worker and no time limit to speak of: only the hang-up can free the worker
    with running(corpus_build[1] / "graph.ttl", serve.Limits(timeout=300, workers=1)) as server:
        host, port = server.url.split("/")[2].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        sock.sendall(f"GET /sparql?{urlencode({'query': HEAVY})} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(1.0)
        sock.close()
        start = time.monotonic()
        assert get(server.url, WHO_LEADS)[0] == 200
        assert time.monotonic() - start < TIMEOUT


def test_issue10_200_concurrent_clients_all_answered(endpoint):
    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(lambda _: get(endpoint, WHO_LEADS), range(200)))
    assert [status for status, _, _ in results] == [200] * 200


def test_issue10_negative_content_length_is_rejected(endpoint):
    reply = raw(endpoint, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                          b"Content-Length: -1\r\n\r\n", wait=5)
    assert reply.startswith(b"HTTP/1.1 400")


def test_issue10_body_over_the_limit_is_413_before_reading_it(endpoint):
    reply = raw(endpoint, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                          b"Content-Length: 50000000\r\nConnection: close\r\n\r\nSELECT", wait=5)
    assert reply.startswith(b"HTTP/1.1 413")


def test_issue10_head_and_options(endpoint):
    path = "/sparql?" + urlencode({"query": WHO_LEADS})
    reply = raw(endpoint, f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"application/sparql-results+json" in head and body == b""
    status, _, _ = call(endpoint, method="OPTIONS")
    assert status == 204
    with urlopen(Request(endpoint, method="OPTIONS"), timeout=TIMEOUT) as r:
        assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD", "POST", "OPTIONS"}


@pytest.mark.parametrize("text", [
    "SELECT ?SERVICE WHERE { ?SERVICE rdfs:label ?name }",
    'SELECT ?s WHERE { ?s rdfs:label "SERVICE" }',
    "SELECT ?s WHERE { ?s <urn:SERVICE> ?o } # SERVICE",
])
def test_issue10_service_as_a_name_is_allowed(endpoint, text):
    assert get(endpoint, text)[0] == 200


def test_issue10_access_log_is_json_lines(endpoint, caplog):
    with caplog.at_level("INFO", logger="kg.sparql.access"):
        get(endpoint, WHO_LEADS)
        call(endpoint.replace("/sparql", "/nowhere"))
        time.sleep(0.2)  # the line is written after the response is sent
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "kg.sparql.access"]
    by_status = {r["status"]: r for r in records}
    assert {200, 404} <= set(by_status)
    ok = by_status[200]
    assert ok["method"] == "GET" and ok["path"] == "/sparql" and ok["rows"] >= 2 and ok["bytes"] > 0
    assert ok["query"].startswith("SELECT") and ok["ms"] >= 0 and ok["client"].startswith("127.0.0.1:")


def test_issue10_sigterm_and_ctrl_c_stop_cleanly(corpus_build, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", str(corpus_build[1] / "graph.ttl"),
                                 "--port", "0", "--workers", "1"], stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TMPDIR": str(tmp_path)})
        try:
            assert proc.stderr is not None
            url = proc.stderr.readline().split()[3]  # "SPARQL endpoint (read-only): URL ..."
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # bound before the workers are up; wait for an answer
                try:
                    if call(url + "?" + urlencode({"query": "ASK {}"}))[0] == 200:
                        break
                except URLError:
                    pass
                time.sleep(0.2)
            proc.send_signal(sig)
            assert proc.wait(TIMEOUT) == 0
            assert "Traceback" not in proc.stderr.read()
        finally:
            proc.kill()
        assert not list(tmp_path.glob("kg-serve-*"))  # the temporary store is gone
