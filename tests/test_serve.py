"""`kg serve`: the SPARQL 1.1 Protocol endpoint, tested over real HTTP on 127.0.0.1 (port 0,
a thread inside the test, every request with a timeout)."""
from __future__ import annotations

import json
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

import kg.cli
from kg import serve, store

TIMEOUT = 10  # seconds per request: a hung server fails the test instead of stalling it
WHO_LEADS = ("SELECT ?person ?org WHERE { ?p kg:leads ?o . ?p rdfs:label ?person . ?o rdfs:label ?org }")


@pytest.fixture(scope="module")
def endpoint(corpus_build) -> Iterator[str]:
    graph = store.open_graph(corpus_build[1] / "graph.ttl")
    server = serve.make_server(graph, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT)


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
