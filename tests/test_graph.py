"""The merged graph and its exports, on `kg build examples/corpus` (built once per session)."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import networkx as nx
import pytest
import rdflib
from rdflib import RDF, RDFS, XSD, Literal, URIRef
from rdflib.namespace import PROV, SKOS

from conftest import CORPUS, CORPUS_FILES, OUTPUT_FILES, ROOT, squash
from kg.resolve import norm
from kg.schema import load as load_schema
from kg.types import Article, Entity, Evidence, Extraction, Mention, Relation
from kg.vocab import KG

pytestmark = pytest.mark.usefixtures("shared_pipeline")

ENTITY_TYPES, RELATION_TYPES = load_schema().entity_types, load_schema().relation_types
CLASSES = [getattr(KG, t) for t in ENTITY_TYPES]
PROPERTIES = [getattr(KG, r) for r in RELATION_TYPES]
IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def validate(g: rdflib.Graph):
    from kg.validate import conformance
    return conformance(g)


def originals() -> dict[str, str]:
    from kg.ingest import decode
    return {p.name: decode(p.read_bytes())[0] for p in CORPUS_FILES}


# --- files ------------------------------------------------------------------------------------

def test_build_succeeds_and_writes_five_files(corpus_build):
    rc, out = corpus_build
    assert rc == 0
    for name in OUTPUT_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not [p.name for p in out.rglob("*") if p.suffix == ".tmp"
                or (p.parent == out and p.name.startswith(".") and p.name not in (".cache", ".records"))]


def test_turtle_has_all_classes_and_properties(corpus_graph):
    for cls in CLASSES:
        assert any(corpus_graph.subjects(RDF.type, cls)), cls
    for prop in PROPERTIES:
        assert any(corpus_graph.triples((None, prop, None))), prop
    arts = {str(corpus_graph.value(a, KG.fileName)) for a in corpus_graph.subjects(RDF.type, KG.Article)}
    assert arts == {p.name for p in CORPUS_FILES}


def test_every_entity_has_one_class_and_labels(corpus_graph):
    g = corpus_graph
    for cls in CLASSES:
        for s in g.subjects(RDF.type, cls):
            assert [c for c in g.objects(s, RDF.type) if c in CLASSES] == [cls]
            labels = list(g.objects(s, SKOS.prefLabel))
            assert len(labels) == 1 and labels[0].language == "zh" and str(labels[0])
            assert (s, RDFS.label, labels[0]) in g


def test_graph_conforms_to_shapes(corpus_graph):
    conforms, _, text = validate(corpus_graph)
    assert conforms, text[:3000]


# --- SHACL on a small hand-made graph ----------------------------------------------------------

def small_extraction(names: dict[str, str] | None = None, doc_id: str = "invented.txt") -> Extraction:
    """A hand-made Extraction: person leads a body, a company invests a project located in a district."""
    n = {"person": "张志远", "org": "区财政局", "company": "华星光电", "project": "华星光电潍坊基地",
         "district": "潍坊", **(names or {})}
    text = f"{n['org']}局长{n['person']}出席。{n['company']}投资{n['project']}，位于{n['district']}。"
    article = Article(doc_id, text, tuple(range(len(text))), source=doc_id, sha256="0" * 64)
    ev1 = Evidence(doc_id, text[:text.index("。") + 1], 0, 0, text.index("。") + 1)
    ev2 = Evidence(doc_id, text[text.index("。") + 1:], 1, text.index("。") + 1, len(text))

    def ent(key, typ, ev):
        start = text.index(n[key])
        return Entity(n[key], typ, [], [Mention(n[key], typ, start, start + len(n[key]), "test", ev)])
    entities = [ent("person", "Person", ev1), ent("org", "Organization", ev1), ent("company", "Enterprise", ev2),
                ent("project", "Project", ev2), ent("district", "District", ev2)]
    relations = [Relation(n["person"], "leads", n["org"], ev1, role="局长", confidence=0.9),
                 Relation(n["company"], "invests", n["project"], ev2, amount=4_200_000_000, confidence=0.8),
                 Relation(n["project"], "locatedIn", n["district"], ev2, confidence=0.8)]
    return Extraction(article, entities, relations)


def small_graph(**kw) -> rdflib.Graph:
    from kg import graph
    return graph.to_rdf(graph.merge([small_extraction(**kw)]))


def test_small_graph_conforms():
    conforms, _, text = validate(small_graph())
    assert conforms, text


def _break_statement_evidence(g):
    st = next(g.subjects(RDF.type, KG.Statement))
    g.remove((st, KG.evidence, None))
    return KG.evidence


def _wrong_edge(subject_type, prop, object_type):
    """An edge between the wrong kinds of node (where the report points depends on the shapes)."""
    def breaker(g):
        g.add((next(g.subjects(RDF.type, subject_type)), prop, next(g.subjects(RDF.type, object_type))))
    breaker.__name__ = f"_{prop.split('#')[-1]}_{subject_type.split('#')[-1]}_to_{object_type.split('#')[-1]}"
    return breaker


def _evidence_without_offsets(g):
    ev = next(g.subjects(RDF.type, KG.Evidence))
    g.remove((ev, KG.beginIndex, None))
    return KG.beginIndex


def _string_offset(g):
    ev = next(g.subjects(RDF.type, KG.Evidence))
    g.set((ev, KG.endIndex, Literal("12")))
    return KG.endIndex


def _statement_without_confidence(g):
    st = next(g.subjects(RDF.type, KG.Statement))
    g.remove((st, KG.confidence, None))
    return KG.confidence


def _confidence_over_one(g):
    st = next(g.subjects(RDF.type, KG.Statement))
    g.set((st, KG.confidence, Literal(Decimal("1.5"))))
    return KG.confidence


def _entity_without_label(g):
    p = next(g.subjects(RDF.type, KG.Person))
    g.remove((p, RDFS.label, None))
    return RDFS.label


BREAKERS = [_break_statement_evidence, _wrong_edge(KG.Enterprise, KG.invests, KG.Person),
            _wrong_edge(KG.Enterprise, KG.leads, KG.Organization), _wrong_edge(KG.Project, KG.locatedIn, KG.Person),
            _evidence_without_offsets, _string_offset, _statement_without_confidence, _confidence_over_one,
            _entity_without_label]


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda f: f.__name__.strip("_"))
def test_broken_graph_does_not_conform(breaker):
    g = small_graph()
    path = breaker(g)
    conforms, report, text = validate(g)
    # kg.ttl states domains and ranges with schema:*Includes, so RDFS inference cannot give a
    # wrong-typed end the class a shape asks for; sh:xone forbids a node of two types.
    assert not conforms, f"{breaker.__name__}: the broken graph conforms"
    if path is not None:
        sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
        assert path in set(report.objects(None, sh.resultPath)), text


# --- evidence ---------------------------------------------------------------------------------

def test_statements_are_reified_with_evidence(corpus_graph):
    g = corpus_graph
    statements = list(g.subjects(RDF.type, KG.Statement))
    assert statements
    edges = {(s, p, o) for p in PROPERTIES for s, o in g.subject_objects(p)}
    assert len(statements) == len(edges)
    for st in statements:
        s, p, o = g.value(st, RDF.subject), g.value(st, RDF.predicate), g.value(st, RDF.object)
        assert (s, p, o) in g  # the statement describes an asserted triple
        assert list(g.objects(st, KG.evidence)), st
        amount = g.value(st, KG.amount)
        assert amount is None or (amount.datatype == XSD.integer and p == KG.invests)


def test_evidence_points_into_the_original_file(corpus_graph):
    g, orig = corpus_graph, originals()
    arts = {a: str(g.value(a, KG.fileName)) for a in g.subjects(RDF.type, KG.Article)}
    checked = 0
    for st in g.subjects(RDF.type, KG.Statement):
        for ev in g.objects(st, KG.evidence):
            assert (ev, RDF.type, KG.Evidence) in g
            sources = list(g.objects(ev, PROV.wasDerivedFrom))
            assert len(sources) == 1 and (sources[0], RDF.type, KG.Article) in g
            begin, end = g.value(ev, KG.beginIndex), g.value(ev, KG.endIndex)
            assert begin.datatype == XSD.integer and end.datatype == XSD.integer
            begin, end = begin.toPython(), end.toPython()
            assert isinstance(begin, int) and isinstance(end, int)
            text = orig[arts[sources[0]]]
            assert 0 <= begin < end <= len(text)
            sentence = str(g.value(ev, KG.sentence))
            assert squash(sentence) and squash(sentence) in squash(text[begin:end]), (sentence, text[begin:end])
            checked += 1
    assert checked >= len(list(g.subjects(RDF.type, KG.Statement)))


def test_mentions_point_at_the_name_in_the_original_file(corpus_graph):
    g, orig = corpus_graph, originals()
    arts = {a: str(g.value(a, KG.fileName)) for a in g.subjects(RDF.type, KG.Article)}
    mentions = list(g.subjects(RDF.type, KG.Mention))
    assert mentions
    for m in mentions:
        ent = g.value(m, KG.mentionOf)
        # names match as the scorer matches them: NFKC, no spaces (（华东） is (华东))
        names = {norm(str(x)) for x in [*g.objects(ent, RDFS.label), *g.objects(ent, SKOS.altLabel)]}
        text = orig[arts[g.value(m, PROV.wasDerivedFrom)]]
        begin, end = g.value(m, KG.beginIndex).toPython(), g.value(m, KG.endIndex).toPython()
        assert norm(text[begin:end]) in names, (names, text[begin:end])
        assert squash(text[begin:end]) in squash(str(g.value(m, KG.sentence)))


# --- IRIs and determinism ---------------------------------------------------------------------

def _subjects(path: Path) -> set[str]:
    g = rdflib.Graph().parse(path, format="turtle")
    return {str(s) for s in g.subjects() if isinstance(s, URIRef)}


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> tuple[Path, Path]:
    """Two builds in fresh interpreters with different hash seeds (so set and dict order
    differ), run side by side so both read the same version of the code."""
    outs = [tmp_path_factory.mktemp(f"seed{seed}") for seed in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "kg.cli", "build", str(CORPUS), "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)})
             for seed, out in zip((1, 2), outs)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return outs[0], outs[1]


def test_builds_are_byte_identical(two_builds):
    first, second = two_builds
    for name in ("graph.ttl", "graph.graphml", "entities.csv", "relations.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_iris_are_stable(two_builds):
    first, second = (_subjects(out / "graph.ttl") for out in two_builds)
    assert first and first == second


def test_no_blank_nodes_and_iris_are_safe(corpus_graph):
    for triple in corpus_graph:
        for term in triple:
            assert not isinstance(term, rdflib.BNode)
            if isinstance(term, URIRef):
                assert not IRI_FORBIDDEN.search(str(term)), term


def test_entity_iri_is_stable_and_safe():
    from kg.graph import entity_iri
    assert entity_iri("Person", "张志远") == entity_iri("Person", "张志远")
    assert entity_iri("Person", "张志远") != entity_iri("Organization", "张志远")
    assert entity_iri("Organization", "区工商联（民发局）") == entity_iri("Organization", "区工商联(民发局)")
    for name in ['A B', 'say "hi"', "it's", "<x>", "a#b", "100%", "a/b?c=d&e", "{}|^`\\", "\u3000全角\t"]:
        iri = entity_iri("Enterprise", name)
        assert not IRI_FORBIDDEN.search(str(iri)), iri
        assert str(iri).startswith("https://w3id.org/zhkg/id/enterprise/")
        assert "/" not in str(iri).rsplit("enterprise/", 1)[1]


WEIRD = {"person": "张 志远", "org": '区"财政"局', "company": "A<B>#1 %公司", "project": "星海#%“蓝谷”基地",
         "district": "潍坊 <新区>"}


def test_weird_names_round_trip_through_turtle():
    from kg import graph
    g = small_graph(names=WEIRD, doc_id='a b"\'<>#%{}|^`\\.txt')
    data = g.serialize(format="turtle")
    back = rdflib.Graph().parse(data=data, format="turtle")
    assert set(back) == set(g)
    labels = {str(o) for o in back.objects(None, SKOS.prefLabel)}
    assert set(WEIRD.values()) <= labels
    for s in back.subjects():
        assert not IRI_FORBIDDEN.search(str(s)), s
    # the same names give the same IRIs in another graph
    assert set(back.subjects(RDF.type, KG.Enterprise)) == {graph.entity_iri("Enterprise", WEIRD["company"])}
    assert validate(back)[0]


def test_weird_file_name_builds_a_valid_graph(tmp_path, capsys):
    import kg.cli
    corpus, out = tmp_path / "in", tmp_path / "out"
    corpus.mkdir()
    name = 'a b"\'<>#%{}|^`\\.txt'
    (corpus / name).write_text("区财政局党组书记、局长张志远出席会议。加快推进华星光电潍坊基地建设。\n",
                               encoding="utf-8")
    assert kg.cli.main(["build", str(corpus), "--out", str(out)]) == 0, capsys.readouterr().err
    g = rdflib.Graph().parse(out / "graph.ttl", format="turtle")
    assert {str(o) for o in g.objects(None, KG.fileName)} == {name}
    assert any(g.subjects(RDF.type, KG.Person))
    for s in g.subjects():
        assert not IRI_FORBIDDEN.search(str(s)), s
    assert validate(g)[0]


# --- GraphML and CSV --------------------------------------------------------------------------

def test_graphml_loads_as_multidigraph(corpus_build, corpus_graph):
    g = nx.read_graphml(corpus_build[1] / "graph.graphml", force_multigraph=True)
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_nodes() > 0 and g.number_of_edges() > 0
    for n, d in g.nodes(data=True):
        assert d["type"] in ENTITY_TYPES, (n, d)
        assert d["label"]
        aliases = json.loads(d["aliases"])
        assert isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)
    for u, v, k, d in g.edges(keys=True, data=True):
        assert d["relation"] in RELATION_TYPES and k == d["relation"]
    entity_iris = {str(s) for c in CLASSES for s in corpus_graph.subjects(RDF.type, c)}
    assert set(g.nodes) == entity_iris
    triples = {(str(s), p.split("#")[1], str(o)) for p in PROPERTIES for s, o in corpus_graph.subject_objects(p)}
    assert {(u, k, v) for u, v, k in g.edges(keys=True)} == triples


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_csvs_have_headers_and_rows(corpus_build, corpus_graph):
    out = corpus_build[1]
    with (out / "entities.csv").open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["iri", "type", "name", "aliases", "articles", "confidence"]
    with (out / "relations.csv").open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["head", "relation", "tail", "role", "amount", "confidence", "article",
                                       "sentence"]
    ents, rels = _csv(out / "entities.csv"), _csv(out / "relations.csv")
    assert ents and rels
    assert {e["type"] for e in ents} == set(ENTITY_TYPES)
    assert {r["relation"] for r in rels} == set(RELATION_TYPES)
    docs = {p.name for p in CORPUS_FILES}
    for e in ents:
        assert e["name"] and set(e["articles"].split("|")) <= docs
        assert (URIRef(e["iri"]), RDF.type, getattr(KG, e["type"])) in corpus_graph
    names = {e["name"] for e in ents}
    for r in rels:
        assert r["head"] in names and r["tail"] in names and r["article"] in docs and r["sentence"]
        assert r["amount"] == "" or int(r["amount"]) > 0
    assert len(ents) == sum(1 for c in CLASSES for _ in corpus_graph.subjects(RDF.type, c))
    assert len(rels) == len(list(corpus_graph.subjects(RDF.type, KG.Statement)))


# --- relative names across articles (issue 7, item 4) -------------------------------------------

def relative_extraction(doc_id: str, place: str, person: str) -> Extraction:
    """{place}举行签约仪式。区委书记{person}出席，区财政局局长…: a relative 区委 / 区财政局 per article."""
    text = f"{place}举行签约仪式。区委书记{person}出席。"
    article = Article(doc_id, text, tuple(range(len(text))), source=doc_id, sha256="0" * 64)
    ev = Evidence(doc_id, text, 0, 0, len(text))

    def ent(name, typ):
        start = text.index(name)
        return Entity(name, typ, [], [Mention(name, typ, start, start + len(name), "test", ev)])
    entities = [ent(place, "District"), ent("区委", "Organization"), ent(person, "Person")]
    relations = [Relation(person, "leads", "区委", ev, role="书记"), Relation("区委", "locatedIn", place, ev)]
    return Extraction(article, entities, relations)


def test_relative_names_are_qualified_per_article():
    from kg import graph
    kgraph = graph.merge([relative_extraction("a.txt", "青禾区", "张明远"),
                          relative_extraction("b.txt", "禾丰区", "李国栋")])
    names = {n.name: n for n in kgraph.nodes.values() if n.type == "Organization"}
    assert set(names) == {"青禾区委", "禾丰区委"}
    assert all("区委" in n.aliases for n in names.values())  # the text's form stays an alias
    led = {(kgraph.nodes[h].name, kgraph.nodes[t].name) for h, rel, t in kgraph.edges if rel == "leads"}
    assert led == {("张明远", "青禾区委"), ("李国栋", "禾丰区委")}


def test_relative_name_without_a_place_stays_in_its_article():
    from kg import graph
    a, b = relative_extraction("a.txt", "青禾区", "张明远"), relative_extraction("b.txt", "禾丰区", "李国栋")
    for ex in (a, b):  # neither article names its place
        ex.entities[:] = [e for e in ex.entities if e.type != "District"]
        ex.relations[:] = [r for r in ex.relations if r.relation != "locatedIn"]
    kgraph = graph.merge([a, b])
    committees = [n for n in kgraph.nodes.values() if n.type == "Organization"]
    assert len(committees) == 2 and {n.name for n in committees} == {"区委"}


def test_two_districts_committees_stay_apart_end_to_end(nlp):
    """Through the pipeline: no person leads the other district's 区委."""
    from kg import graph
    from kg.extract import extract
    texts = {"a.txt": "本报讯 黄岛区举行重大项目签约仪式。区委书记张明远出席并讲话。",
             "b.txt": "本报讯 城阳区举行重大项目签约仪式。区委书记李国栋出席并讲话。"}
    exs = [extract(nlp(t), Article(d, t, tuple(range(len(t))), source=d)) for d, t in texts.items()]
    kgraph = graph.merge(exs)
    led = {(kgraph.nodes[h].name, kgraph.nodes[t].name) for h, rel, t in kgraph.edges if rel == "leads"}
    assert ("张明远", "黄岛区委") in led and ("李国栋", "城阳区委") in led
    assert ("张明远", "城阳区委") not in led and ("李国栋", "黄岛区委") not in led
