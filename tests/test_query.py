"""`kg query` and the ready queries in queries/, on the sample graph as Turtle and as a store;
`kg build --store`; the table, CSV and JSON output; one-line errors with exit code 2."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

import kg.cli
from conftest import CORPUS, ROOT
from kg.sparql import query, store

QUERIES = ROOT / "queries"
READY = sorted(p.name for p in QUERIES.glob("*.rq"))
COLUMNS = {  # the SELECT header of each ready query
    "who_leads_what.rq": ["person", "organization", "role", "file", "sentence"],
    "projects_per_district.rq": ["district", "projects", "names"],
    "investors.rq": ["investor", "kind", "project", "amount", "file", "sentence"],
    "people_per_organization.rq": ["organization", "kind", "people", "names"],
    "entity.rq": ["entity", "property", "direction", "value", "role", "amount", "file", "sentence"],
}


def main(*argv) -> int:
    return kg.cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def built(shared_pipeline, tmp_path_factory) -> Path:
    """One `kg build --store` of the sample corpus: graph.ttl and store/ in the folder."""
    out = tmp_path_factory.mktemp("query")
    assert main("build", CORPUS, "--out", out, "--store", out / "store") == 0
    return out


@pytest.fixture(params=["graph.ttl", "store"])
def graph(request, built) -> Path:
    return built / request.param


def select(capsys, graph: Path, rq: str, *extra: str) -> tuple[list[str], list[dict[str, str]]]:
    """(variables, rows as {var: value}) of `kg query GRAPH RQ --format json`."""
    assert main("query", graph, QUERIES / rq if rq.endswith(".rq") else rq, "--format", "json", *extra) == 0
    data = json.loads(capsys.readouterr().out)
    rows = [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]
    return data["head"]["vars"], rows


def error(capsys, *argv) -> str:
    """The one stderr line of a command that must exit 2."""
    assert main(*argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and not captured.out, captured.err
    return lines[0]


# --- the ready queries ------------------------------------------------------------------------

def test_every_query_is_listed_and_documented():
    assert set(READY) == set(COLUMNS)
    for name in READY:
        text = (QUERIES / name).read_text(encoding="utf-8")
        assert text.startswith("#") and "PREFIX kg:" in text and f"queries/{name}" in text


@pytest.mark.parametrize("rq", READY)
def test_ready_query_has_rows_and_columns(rq, graph, capsys):
    variables, rows = select(capsys, graph, rq)
    assert variables == COLUMNS[rq]
    assert rows


@pytest.mark.parametrize("rq", READY)
def test_turtle_and_store_give_the_same_rows(rq, built, capsys):
    def rowset(g: Path) -> list:  # GROUP_CONCAT has no order: compare its parts as sets
        return sorted(tuple(sorted((k, "、".join(sorted(v.split("、"))) if k == "names" else v)
                                   for k, v in r.items())) for r in select(capsys, g, rq)[1])
    assert rowset(built / "graph.ttl") == rowset(built / "store")


def test_who_leads_what(graph, capsys):
    _, rows = select(capsys, graph, "who_leads_what.rq")
    pairs = {(r["person"], r["organization"]) for r in rows}
    assert ("刘玮", "工委军民融合办") in pairs
    # relative names are qualified by the article's place in the merged graph (区工商联 -> …新区工商联)
    for person, body in (("侯万里", "区建筑工务中心"), ("毕雷鸣", "区工商联")):
        assert any(p == person and o.endswith(body) and o != body for p, o in pairs), (person, body)
    for r in rows:  # the evidence sentence names the person, and comes from a sample file
        assert r["person"] in r["sentence"] and r["file"].endswith(".txt")
    assert any(r.get("role") for r in rows)


def test_people_per_organization(graph, capsys):
    _, rows = select(capsys, graph, "people_per_organization.rq")
    def org(name: str) -> dict:  # relative names are qualified by their article's place (…新区工商联)
        return next(r for r in rows if r["organization"].endswith(name))
    assert "毕雷鸣" in org("区工商联")["names"]
    assert "侯万里" in org("区建筑工务中心")["names"]
    assert all(int(r["people"]) >= 1 and r["kind"] in {"Organization", "District", "Enterprise"} for r in rows)


def test_investors(graph, capsys):
    _, rows = select(capsys, graph, "investors.rq")
    pairs = {(r["investor"], r["project"]) for r in rows}
    assert {("京东方", "京东方青岛基地"), ("西海岸交通商务区", "铁路智慧物流园")} <= pairs
    assert all(r["kind"] in {"Enterprise", "Organization", "District"} for r in rows)
    assert all(int(r["amount"]) > 0 for r in rows if "amount" in r)


def test_projects_per_district(graph, capsys):
    _, rows = select(capsys, graph, "projects_per_district.rq")
    by_district = {r["district"]: r for r in rows}
    assert "铁路智慧物流园" in by_district["西海岸交通商务区"]["names"]
    counts = [int(r["projects"]) for r in rows]
    assert counts == sorted(counts, reverse=True) and min(counts) >= 1


def test_entity_default_name(graph, capsys):
    _, rows = select(capsys, graph, "entity.rq")
    entities = {r["entity"] for r in rows}  # found by its alias 区工商联, named …新区工商联
    assert len(entities) == 1 and re.fullmatch(r"https://w3id.org/zhkg/id/organization/.+新区工商联", entities.pop())
    kg_ns = "https://w3id.org/zhkg/ontology#"
    assert any(r["property"].endswith("#type") and r["value"] == kg_ns + "Organization" for r in rows)
    leads = [r for r in rows if r["property"] == kg_ns + "leads"]
    assert any(r["direction"] == "←" and r["value"] == "毕雷鸣" and r["file"] for r in leads)
    assert any(r["property"] == kg_ns + "mentionOf" and "区工商联" in r["sentence"] for r in rows)


def test_entity_param(graph, capsys):
    _, rows = select(capsys, graph, "entity.rq", "--param", "name=侯万里")
    assert any(r["property"].endswith("#leads") and r["direction"] == "→" and r["value"].endswith("新区建筑工务中心")
               for r in rows)
    assert all("区工商联" not in r.get("value", "") for r in rows)


# --- formats ----------------------------------------------------------------------------------

def test_table_is_aligned_for_chinese(built, capsys):
    assert main("query", built / "graph.ttl", QUERIES / "who_leads_what.rq") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == COLUMNS["who_leads_what.rq"]
    assert lines[-1].endswith("rows)")
    # every cell of the second column starts at the same display column
    starts = {query.width(line[:line.index(line.split()[1])]) for line in lines[2:-1]}
    assert starts == {query.width(lines[0][:lines[0].index("organization")])}


def test_table_helpers():
    assert query.width("侯万里ab（") == 10
    text = query.table(["名字", "n"], [["侯万里", "1"], ["ab", "2"]])
    head, rule, first, second, footer = text.splitlines()
    assert query.width(head.split("n")[0]) == query.width(first.split("1")[0]) == query.width(second.split("2")[0])
    assert footer == "(2 rows)"
    assert query.width(query._cut("长" * 100)) <= query.MAX_CELL
    assert query.compact("https://w3id.org/zhkg/id/person/%E4%BE%AF%E4%B8%87%E9%87%8C") == "id:person/侯万里"


def test_csv(built, capsys):
    assert main("query", built / "graph.ttl", QUERIES / "investors.rq", "--format", "csv") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == COLUMNS["investors.rq"]
    assert any(r[0] == "京东方" and r[2] == "京东方青岛基地" for r in rows[1:])


def test_ask_and_construct(built, capsys):
    ttl = built / "graph.ttl"
    assert main("query", ttl, "ASK { ?p a kg:Person ; rdfs:label \"侯万里\"@zh }") == 0
    assert capsys.readouterr().out == "true\n"
    assert main("query", ttl, "ASK { ?p a kg:Person ; rdfs:label \"无名氏\"@zh }", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == {"head": {}, "boolean": False}
    construct = "CONSTRUCT { ?p rdfs:label ?n } WHERE { ?p a kg:Person ; rdfs:label ?n }"
    assert main("query", ttl, construct) == 0
    g = rdflib.Graph().parse(data=capsys.readouterr().out, format="turtle")
    assert rdflib.Literal("侯万里", lang="zh") in set(g.objects())
    assert main("query", ttl, construct, "--format", "json") == 0
    assert len(list(ox.parse(input=capsys.readouterr().out.encode(), format=ox.RdfFormat.JSON_LD))) == len(g)


def test_inline_query_with_its_own_prefix(built, capsys):
    text = "PREFIX k: <https://w3id.org/zhkg/ontology#> SELECT (COUNT(*) AS ?n) WHERE { ?a k:leads ?b }"
    variables, rows = select(capsys, built / "graph.ttl", text)
    assert variables == ["n"] and int(rows[0]["n"]) >= 3


# --- parameters and query inspection ------------------------------------------------------------

def test_set_params():
    q = 'SELECT * WHERE {\n  VALUES ?name { "区工商联"@zh }\n  ?e rdfs:label ?name }'
    assert 'VALUES ?name { "侯万里"@zh }' in query.set_params(q, {"name": "侯万里"})
    assert "VALUES ?name { <https://x.org/a> }" in query.set_params(q, {"name": "<https://x.org/a>"})
    assert 'VALUES ?name { "Mr \\"X\\""@en }' in query.set_params(q, {"name": '"Mr \\"X\\""@en'})
    with pytest.raises(query.QueryError):
        query.set_params(q, {"other": "x"})
    with pytest.raises(query.QueryError):
        query.set_params(q, {"name": '"unterminated'})


@pytest.mark.parametrize("text, update", [
    ("SELECT * WHERE { ?s ?p ?o }", False),
    ("PREFIX kg: <https://w3id.org/zhkg/ontology#>\n# INSERT in a comment\nASK { ?s kg:role \"DELETE\" }", False),
    ("insert data { <a:b> <a:c> <a:d> }", True),
    ("PREFIX kg: <https://w3id.org/zhkg/ontology#> BASE <http://x/> DELETE WHERE { ?s ?p ?o }", True),
    ("# comment\nLOAD <http://example.org/x.ttl>", True),
    ("DROP ALL", True),
])
def test_is_update(text, update):
    assert query.is_update(text) is update


def test_uses_service():
    assert query.uses_service("SELECT * WHERE { SERVICE <http://x/sparql> { ?s ?p ?o } }")
    assert not query.uses_service('SELECT * WHERE { ?s ?p "SERVICE" . ?s ?q <http://x/SERVICE> } # SERVICE')


# --- errors: exit 2, one line -------------------------------------------------------------------

def test_errors_exit_2_with_one_line(built, tmp_path, capsys):
    ttl = built / "graph.ttl"
    assert "bad query" in error(capsys, "query", ttl, "SELECT ?x WHERE { ?x ?y }")
    assert "read-only" in error(capsys, "query", ttl, "INSERT DATA { <a:b> <a:c> <a:d> }")
    assert "no such file" in error(capsys, "query", tmp_path / "missing.ttl", "ASK {}")
    assert "missing.rq" in error(capsys, "query", ttl, tmp_path / "missing.rq")
    assert "not a store" in error(capsys, "query", built, "ASK {}")
    assert "VALUES ?name" in error(capsys, "query", ttl, QUERIES / "investors.rq", "--param", "name=x")
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is < not turtle", encoding="utf-8")
    assert "bad.ttl" in error(capsys, "query", bad, "ASK {}")


# --- kg build --store ---------------------------------------------------------------------------

def test_build_store(built):
    assert store.is_store(built / "store")
    graph_triples = len(rdflib.Graph().parse(built / "graph.ttl"))
    assert len(store.open_graph(built / "store")) == graph_triples
    assert not [p.name for p in built.iterdir() if p.name.endswith((".tmp", ".old"))]  # no temp folders left


def test_load_store_replaces_an_old_store(built, tmp_path):
    dest = tmp_path / "s"
    assert store.load_store(built / "graph.ttl", dest) > 0
    reader = store.open_graph(dest)  # a reader of the old store keeps working across the swap
    small = tmp_path / "small.ttl"
    small.write_text("<urn:a> <urn:b> <urn:c> .\n", encoding="utf-8")
    assert store.load_store(small, dest) == 1
    assert len(store.open_graph(dest)) == 1 and len(reader) > 1
    # no temporary folder left; the explorer's name index beside the store
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s", "s.names.sqlite", "small.ttl"]


def test_failed_load_keeps_the_old_store(built, tmp_path):
    dest = tmp_path / "s"
    store.load_store(built / "graph.ttl", dest)
    bad = tmp_path / "bad.ttl"
    bad.write_text("<urn:a> <urn:b> .\n", encoding="utf-8")
    with pytest.raises(store.StoreError):
        store.load_store(bad, dest)
    assert len(store.open_graph(dest)) > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ttl", "s", "s.names.sqlite"]


def test_build_store_refuses_a_folder_that_is_not_a_store(tmp_path, capsys):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious", encoding="utf-8")
    assert "not a store" in error(capsys, "build", CORPUS, "--out", tmp_path / "out", "--store", keep)
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "precious"
    assert not (tmp_path / "out").exists()  # refused before extracting anything

