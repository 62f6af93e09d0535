"""`kg serve`'s explorer: the name index (invented names), its JSON requests checked against the
sample graph (examples/corpus build) read with rdflib, and the page driven in headless Chromium."""
from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS

from kg.graph import ID
from kg.sparql import names, serve, store
from kg.vocab import KG

sys.path.insert(0, str(Path(__file__).parent))
from browser import Browser, Page, find_chromium  # noqa: E402
from test_serve import HEAVY, TIMEOUT, call, running  # noqa: E402

# --- the name index, on invented names -----------------------------------------------------------
# (name, class, aliases, degree): degrees come from that many edges to a filler project
PEOPLE = [("张三", "Person", ["张局长"], 1), ("张三丰", "Person", [], 3), ("李张三", "Person", [], 5),
          ("丙丁公司", "Enterprise", [], 0), ("甲乙丙丁公司", "Enterprise", [], 2),
          ("ＡＢＣ集团", "Enterprise", [], 0), ("a*b?c[d", "Organization", [], 0)]


def invented_turtle() -> str:
    lines = [f"@prefix kg: <{KG._NS}> . @prefix rdfs: <{RDFS}> . @prefix skos: <{SKOS}> . @prefix rdf: <{RDF}> .",
             f'<{ID}project/filler> a kg:Project ; rdfs:label "某工程"@zh .']
    for i, (name, cls, aliases, degree) in enumerate(PEOPLE):
        iri = f"<{ID}{cls.lower()}/n{i}>"
        lines.append(f"{iri} a kg:{cls} ; rdfs:label {json.dumps(name, ensure_ascii=False)}@zh .")
        lines += [f"{iri} skos:altLabel {json.dumps(a, ensure_ascii=False)}@zh ." for a in aliases]
        for k in range(degree):  # a distinct relation per edge keeps them distinct triples
            filler = f"<{ID}project/f{i}_{k}>"
            lines.append(f"{iri} kg:invests {filler} . {filler} a kg:Project . <{ID}statement/s{i}_{k}> "
                         f"rdf:subject {iri} ; rdf:predicate kg:invests ; rdf:object {filler} .")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Iterator[names.sqlite3.Connection]:
    folder = tmp_path_factory.mktemp("names")
    (folder / "g.ttl").write_text(invented_turtle(), encoding="utf-8")
    store.load_store(folder / "g.ttl", folder / "store")
    con = names.connect(names.ensure(folder / "store"))
    yield con
    con.close()


def labels(con, q: str, limit: int = 20) -> list[tuple[str, int]]:
    return [(h.label, h.rank) for h in names.search(con, q, limit)[0]]


def test_search_ranks_exact_then_prefix_then_substring(index):
    # 李张三 has the highest degree but only contains the query; 张三 matches it exactly
    assert labels(index, "张三") == [("张三", 0), ("张三丰", 1), ("李张三", 2)]


def test_search_orders_by_degree_within_a_rank(index):
    # one character (below the trigram length): prefixes by degree, then the rest
    assert labels(index, "张") == [("张三丰", 1), ("张三", 1), ("李张三", 2)]


def test_search_by_alias_says_which_name_matched(index):
    hits, _ = names.search(index, "局长")
    assert [(h.label, h.match) for h in hits] == [("张三", "张局长")]


def test_search_trigram_path(index):
    assert labels(index, "丙丁公司") == [("丙丁公司", 0), ("甲乙丙丁公司", 2)]
    assert labels(index, "乙丙丁") == [("甲乙丙丁公司", 2)]
    assert labels(index, "丁公司甲") == []


def test_search_folds_width_and_case(index):
    assert labels(index, "abc") == [("ＡＢＣ集团", 1)]
    assert labels(index, "Ｂc集") == [("ＡＢＣ集团", 2)]


@pytest.mark.parametrize("q", ["*", "b?c[", "?", "[d"])
def test_search_takes_wildcards_literally(index, q):
    assert labels(index, q) == [("a*b?c[d", 2)]


def test_search_limit_and_more(index):
    hits, more = names.search(index, "张", 2)
    assert [h.label for h in hits] == ["张三丰", "张三"] and more
    assert names.search(index, "张", 3)[1] is False
    assert names.search(index, "  ") == ([], False)


def test_index_is_rebuilt_for_a_new_store(tmp_path):
    (tmp_path / "a.ttl").write_text(f'<{ID}person/a> a <{KG.Person}> ; <{RDFS.label}> "甲某"@zh .\n', encoding="utf-8")
    (tmp_path / "b.ttl").write_text(f'<{ID}person/b> a <{KG.Person}> ; <{RDFS.label}> "乙某"@zh .\n', encoding="utf-8")
    folder = tmp_path / "store"
    store.load_store(tmp_path / "a.ttl", folder)  # builds the index beside the store
    path = names.path_for(folder)
    assert names.is_current(path, folder)
    before = path.read_bytes()
    store.load_store(tmp_path / "b.ttl", folder)  # replaces the store folder, and its index
    with contextlib.closing(names.connect(path)) as con:
        assert labels(con, "某") == [("乙某", 2)]
    path.write_bytes(before)  # the index of the store before: stale
    assert not names.is_current(path, folder)
    with contextlib.closing(names.connect(names.ensure(folder))) as con:
        assert labels(con, "某") == [("乙某", 2)]


# --- the JSON requests, on the sample graph ---------------------------------------------------------

@pytest.fixture(scope="module")
def server(corpus_build) -> Iterator[serve.SparqlServer]:
    with running(corpus_build[1] / "graph.ttl") as s:
        yield s


def api(server: serve.SparqlServer, op: str, **params: object) -> tuple[int, dict]:
    assert server.explorer_url
    status, ctype, body = call(f"{server.explorer_url}api/{op}?{urlencode(params)}")
    assert ctype.startswith("application/json"), (status, body[:200])
    return status, json.loads(body)


def relations(graph: Graph) -> set[URIRef]:
    return set(graph.objects(None, RDF.predicate))


def hub(graph: Graph) -> URIRef:
    """The entity with the most relation edges in and out."""
    rels = relations(graph)
    degree: dict[URIRef, int] = {}
    for s, p, o in graph:
        if p in rels:
            degree[s] = degree.get(s, 0) + 1
            degree[o] = degree.get(o, 0) + 1
    return max(degree, key=lambda e: (degree[e], str(e)))


def test_api_search_matches_the_graph(server, corpus_graph):
    e = hub(corpus_graph)
    label = str(corpus_graph.value(e, RDFS.label))
    status, data = api(server, "search", q=label, limit=200)
    assert status == 200 and data["results"][0]["iri"] == str(e) and data["results"][0]["rank"] == 0
    want = {str(s) for s, p, o in corpus_graph
            if p in (RDFS.label, SKOS.altLabel) and names.key(label) in names.key(str(o))}
    assert {r["iri"] for r in data["results"]} == want
    ranks = [(r["rank"], -r["degree"]) for r in data["results"]]
    assert ranks == sorted(ranks)


def test_api_search_finds_an_alias(server, corpus_graph):
    e, alias = next((s, str(o)) for s, o in sorted(corpus_graph.subject_objects(SKOS.altLabel))
                    if str(o) not in str(corpus_graph.value(s, RDFS.label)))
    _, data = api(server, "search", q=alias)
    assert {"iri": str(e), "match": alias} in [{"iri": r["iri"], "match": r["match"]} for r in data["results"]]


def test_api_entity_edges_paged_equal_the_graph(server, corpus_graph):
    e = hub(corpus_graph)
    status, data = api(server, "entity", iri=str(e), limit=3)
    assert status == 200 and data["label"] == str(corpus_graph.value(e, RDFS.label))
    assert data["aliases"] == sorted(str(a) for a in corpus_graph.objects(e, SKOS.altLabel))
    seen: set[tuple[str, str, str]] = set()
    for g in data["groups"]:
        edges, nxt = list(g["edges"]), g["next"]
        while nxt is not None:  # follow the pages
            _, page = api(server, "edges", iri=str(e), dir=g["dir"], p=g["predicate"], offset=nxt, limit=3)
            edges += page["edges"]
            nxt = page["next"]
        assert len(edges) == g["count"]
        for n in edges:
            assert n["label"] == str(corpus_graph.value(URIRef(n["iri"]), RDFS.label))
            seen.add((g["dir"], g["predicate"], n["iri"]))
    rels = relations(corpus_graph)
    want = {("out", str(p), str(o)) for p, o in corpus_graph.predicate_objects(e) if p in rels}
    want |= {("in", str(p), str(s)) for s, p in corpus_graph.subject_predicates(e) if p in rels}
    assert seen == want


def test_api_sources_are_the_statement_evidence(server, corpus_graph):
    st = next(iter(sorted(corpus_graph.subjects(KG.evidence, None))))
    s, p, o = (corpus_graph.value(st, x) for x in (RDF.subject, RDF.predicate, RDF.object))
    status, data = api(server, "sources", s=str(s), p=str(p), o=str(o))
    assert status == 200 and len(data["statements"]) == 1
    got = {(ev["sentence"], ev["begin"], ev["end"], ev["article"]["file"]) for ev in data["statements"][0]["evidence"]}
    want = {(str(corpus_graph.value(ev, KG.sentence)), int(corpus_graph.value(ev, KG.beginIndex)),
             int(corpus_graph.value(ev, KG.endIndex)),
             str(corpus_graph.value(corpus_graph.value(ev, PROV.wasDerivedFrom), KG.fileName)))
            for ev in corpus_graph.objects(st, KG.evidence)}
    assert got == want and got


def test_api_mentions_paged(server, corpus_graph):
    e = hub(corpus_graph)
    want = sorted(str(corpus_graph.value(m, KG.sentence)) for m in corpus_graph.subjects(KG.mentionOf, e))
    got, offset = [], 0
    while offset is not None:
        _, data = api(server, "mentions", iri=str(e), offset=offset, limit=4)
        got += [m["sentence"] for m in data["mentions"]]
        offset = data["next"]
    assert data["count"] == len(want) and sorted(got) == want


@pytest.mark.parametrize(("op", "params", "status"), [
    ("search", {}, 400),
    ("entity", {"iri": "not an iri"}, 400),
    ("edges", {"iri": f"{ID}x> ?p ?o }} #", "p": str(KG.leads)}, 400),  # no way out of <…> into the query
    ("entity", {"iri": f"{ID}person/nobody"}, 404),
    ("edges", {"iri": f"{ID}person/x", "p": str(KG.leads), "dir": "sideways"}, 400),
    ("mentions", {"iri": f"{ID}person/x", "offset": "-1"}, 400),
    ("sources", {"s": f"{ID}a", "p": str(KG.leads), "o": f"{ID}b"}, 404),
    ("drop", {}, 404),
])
def test_api_errors_are_json(server, op, params, status):
    got, data = api(server, op, **params)
    assert got == status and data["error"]


def test_page_is_served_with_a_strict_policy(server):
    status, ctype, body = call(server.explorer_url)
    assert status == 200 and ctype.startswith("text/html") and b"explore.js" in body
    status, ctype, body = call(server.explorer_url + "explore.js")
    assert status == 200 and "javascript" in ctype and b"innerHTML" not in body
    assert call(server.explorer_url + "nothing.js")[0] == 404
    root = server.url.removesuffix("sparql")
    assert call(root)[0] == 200  # redirected to the page
    from urllib.request import urlopen
    with urlopen(server.explorer_url, timeout=TIMEOUT) as r:
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_explorer_answers_while_sparql_workers_are_busy(corpus_build):
    with running(corpus_build[1] / "graph.ttl", serve.Limits(timeout=4, workers=1, explore_workers=1)) as s:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(1) as pool:
            heavy = pool.submit(call, f"{s.url}?{urlencode({'query': HEAVY})}")
            time.sleep(0.5)  # the only SPARQL worker is now counting
            start = time.monotonic()
            assert api(s, "search", q="新区")[0] == 200
            assert time.monotonic() - start < 2
            assert heavy.result()[0] == 504


# --- headless Chromium ----------------------------------------------------------------------------
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium fonts-noto-cjk)")
EVIL = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"


@pytest.fixture(scope="module")
def browsed(corpus_build, tmp_path_factory) -> Iterator[tuple[serve.SparqlServer, Browser]]:
    """The sample graph plus an entity named with markup, whose sentence is markup too."""
    folder = tmp_path_factory.mktemp("explore")
    graph = folder / "graph.ttl"
    shutil.copy(corpus_build[1] / "graph.ttl", graph)
    evil, org, st, ev = ID["person/evil"], ID["organization/evil"], ID["statement/evil"], ID["evidence/evil"]
    extra = Graph()
    for t in [(evil, RDF.type, KG.Person), (evil, RDFS.label, Literal(EVIL, lang="zh")),
              (org, RDF.type, KG.Organization), (org, RDFS.label, Literal("某某局", lang="zh")),
              (evil, KG.worksFor, org), (st, RDF.type, KG.Statement), (st, RDF.subject, evil),
              (st, RDF.predicate, KG.worksFor), (st, RDF.object, org), (st, KG.evidence, ev),
              (ev, KG.sentence, Literal(EVIL + "在某某局工作", lang="zh"))]:
        extra.add(t)
    with graph.open("a", encoding="utf-8") as f:
        f.write(extra.serialize(format="nt"))
    assert CHROMIUM
    with running(graph) as s:
        b = Browser(CHROMIUM)
        try:
            yield s, b
        finally:
            b.close()


def typed(page: Page, text: str) -> None:
    page.wait_for("document.activeElement.id === 'q'")
    page.eval("document.getElementById('q').value = ''")
    page.send("Input.insertText", {"text": text})
    page.wait_for(f"document.getElementById('hits').dataset.query === {json.dumps(text)}")


def clean(page: Page) -> None:
    assert page.errors() == [] and page.dialogs() == []
    assert page.eval("window.pwned") is None
    assert all(u.startswith(page.eval("location.origin")) or u.startswith("data:") for u in page.requests())


@needs_chromium
def test_browser_search_open_follow_and_read_sources(browsed, corpus_graph):
    server, browser = browsed
    e = hub(corpus_graph)
    label = str(corpus_graph.value(e, RDFS.label))
    page = browser.open(server.explorer_url)
    try:
        typed(page, label)
        assert page.eval("document.querySelector('#hits a.node').textContent") == label
        page.eval("document.querySelector('#hits a.node').click()")
        page.wait_for(f"document.getElementById('entity').dataset.iri === {json.dumps(str(e))}")
        assert page.eval("document.getElementById('name').textContent") == label
        assert page.eval("new URLSearchParams(location.hash.slice(1)).get('e')") == str(e)
        # follow an edge: the first neighbour opens
        neighbour = page.eval("document.querySelector('#groups a.node').dataset.iri")
        page.eval("document.querySelector('#groups a.node').click()")
        page.wait_for(f"document.getElementById('entity').dataset.iri === {json.dumps(neighbour)}")
        # its first edge's sources: a sentence of the graph
        page.eval("document.querySelector('#groups .source-button').click()")
        page.wait_for("!!document.querySelector('#groups .sources .sentence')")
        sentence = page.eval("document.querySelector('#groups .sources .sentence').textContent")
        assert sentence in {str(o) for o in corpus_graph.objects(None, KG.sentence)}
        # back: the fragment holds the state
        page.eval("history.back()")
        page.wait_for(f"document.getElementById('entity').dataset.iri === {json.dumps(str(e))}")
        clean(page)
        again = browser.open(page.eval("location.href"))  # a link to the page opens the same view
        try:
            again.wait_for(f"document.getElementById('entity').dataset.iri === {json.dumps(str(e))}")
            again.wait_for(f"document.getElementById('hits').dataset.query === {json.dumps(label)}")
        finally:
            again.close()
    finally:
        page.close()


@needs_chromium
def test_browser_shows_markup_in_names_as_text(browsed):
    server, browser = browsed
    page = browser.open(server.explorer_url)
    try:
        typed(page, "<script>")
        assert page.eval("document.querySelector('#hits a.node').textContent") == EVIL
        page.eval("document.querySelector('#hits a.node').click()")
        page.wait_for("document.getElementById('name').textContent.startsWith('<script>')")
        page.eval("document.querySelector('#groups .source-button').click()")
        page.wait_for("!!document.querySelector('#groups .sources .sentence')")
        assert page.eval("document.querySelector('#groups .sources .sentence').textContent") == EVIL + "在某某局工作"
        assert page.eval("document.querySelectorAll('main script, main img').length") == 0
        clean(page)
    finally:
        page.close()
