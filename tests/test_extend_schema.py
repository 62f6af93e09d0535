"""The ontology is the one source of the schema (issue 8): a class and a relation added to a
copy of kg.ttl go through the public API — RDF that passes SHACL, NetworkX, CSV, the HTML
legend and evaluation rows — with no code change. Names are invented."""
from __future__ import annotations

import csv
import json
import re

import networkx as nx
import pytest
import rdflib
import spacy
from rdflib import RDF

import kg.pipeline  # noqa: F401  (registers doc._.relations)
from kg import api, evaluate, schema, validate
from kg.extract import extract
from kg.types import Article, Entity, Evidence, Extraction, Mention, Relation
from kg.vocab import Names

EXTRA = """
kg:Product a owl:Class ; rdfs:label "Product"@en , "产品"@zh ; kg:displayOrder 6 ;
    rdfs:subClassOf kg:Entity , schema:Product .
kg:produces a owl:ObjectProperty ; rdfs:label "produces"@en , "生产"@zh ; kg:displayOrder 5 ;
    schema:domainIncludes kg:Enterprise ; schema:rangeIncludes kg:Product .
"""
TEXT = "星河电子生产云帆平板。"
COMPANY, PRODUCT = "星河电子", "云帆平板"


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    path = tmp_path_factory.mktemp("ontology") / "kg.ttl"
    path.write_text(schema.ONTOLOGY.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
    return schema.load(path)


def records(product_type: str = "Product", relation: str = "produces", doc_id: str = "a.txt") -> Extraction:
    article = Article(doc_id, TEXT, tuple(range(len(TEXT))), source=doc_id, sha256="0" * 64)
    ev = Evidence(doc_id, TEXT, 0, 0, len(TEXT))

    def entity(name: str, etype: str) -> Entity:
        start = TEXT.index(name)
        return Entity(name, etype, [], [Mention(name, etype, start, start + len(name), "test", ev)])
    return Extraction(article, [entity(COMPANY, Names.Enterprise), entity(PRODUCT, product_type)],
                      [Relation(COMPANY, relation, PRODUCT, ev, confidence=0.9)])


@pytest.fixture(scope="module")
def built(extended, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    report = api.export([records()], out, schema=extended, title="extended")
    return report, out


def test_new_class_and_relation_reach_every_export(extended, built):
    report, out = built
    assert report.entities == 2 and report.relations == 1
    g = rdflib.Graph().parse(out / "graph.ttl")
    product = next(g.subjects(RDF.type, extended.iri("Product")))
    assert (None, extended.iri("produces"), product) in g
    nxg = nx.read_graphml(out / "graph.graphml", force_multigraph=True)
    assert {d["type"] for _, d in nxg.nodes(data=True)} == {Names.Enterprise, "Product"}
    assert [d["relation"] for *_, d in nxg.edges(data=True)] == ["produces"]
    with open(out / "entities.csv", encoding="utf-8") as f:
        assert {r["name"]: r["type"] for r in csv.DictReader(f)}[PRODUCT] == "Product"
    with open(out / "relations.csv", encoding="utf-8") as f:
        assert [(r["head"], r["relation"], r["tail"]) for r in csv.DictReader(f)] == [(COMPANY, "produces", PRODUCT)]


def test_html_legend_shows_the_new_class_and_relation(built):
    page = (built[1] / "graph.html").read_text(encoding="utf-8")
    meta = json.loads(re.search(r"const DATA = (.*?);\n", page).group(1))["meta"]
    keys = [t["key"] for t in meta["types"]]
    assert keys[-2:] == ["Product", "Other"] and keys.index("Product") > keys.index(Names.Project)
    assert {"key": "Product", "zh": "产品"}.items() <= next(t for t in meta["types"] if t["key"] == "Product").items()
    assert meta["relations"]["produces"] == "生产"


def test_graph_of_the_new_class_conforms_and_a_wrong_end_does_not(extended, built, tmp_path):
    report = validate.validate(built[1] / "graph.ttl", ontology=extended.path)
    assert report.conforms, [str(v) for v in report.violations]
    # the derived shapes know the new relation: a Product cannot be its head
    g = rdflib.Graph().parse(built[1] / "graph.ttl")
    product = next(g.subjects(RDF.type, extended.iri("Product")))
    g.add((product, extended.iri("produces"), product))
    g.serialize(tmp_path / "bad.ttl", format="turtle")
    bad = validate.validate(tmp_path / "bad.ttl", ontology=extended.path)
    assert not bad.conforms
    assert [v.focus.split()[0] for v in bad.violations if "is not a kg:Enterprise" in v.message] == [PRODUCT]


def test_evaluation_has_rows_for_the_new_class_and_relation(extended, tmp_path):
    gold = records().to_gold()
    (tmp_path / "a.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    scores = evaluate.score(tmp_path, {"a": gold}, extended)
    assert list(scores["entities"]["by_type"]) == [Names.Enterprise, "Product"]
    assert scores["entities"]["by_type"]["Product"]["f1"] == 1.0
    assert scores["relations"]["by_relation"]["produces"]["f1"] == 1.0
    assert "Product" in evaluate.table(scores)


def test_the_packaged_ontology_refuses_the_new_names(tmp_path):
    with pytest.raises(schema.SchemaError, match="'Product'.*kg.ttl"):
        api.export([records()], tmp_path)
    with pytest.raises(schema.SchemaError, match="'produces'"):
        api.export([records(product_type=Names.Project)], tmp_path)


def _doc(label: str):
    """TEXT with one entity span labelled `label`, through sentence splitting and kg_relations."""
    nlp = spacy.blank("zh")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("kg_relations")
    doc = nlp.make_doc(TEXT)
    start = TEXT.index(PRODUCT)
    doc.ents = [doc.char_span(start, start + len(PRODUCT), label=label)]
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def test_span_labels_are_checked_against_the_schema(extended):
    article = records().article
    assert [e.type for e in extract(_doc("Product"), article, extended).entities] == ["Product"]
    with pytest.raises(schema.SchemaError, match=r"a\.txt: span '云帆平板': 'Product' is not an entity class"):
        extract(_doc("Product"), article)


def test_a_label_the_ontology_lacks_fails_each_article_clearly(nlp, tmp_path, monkeypatch):
    """KG_ONTOLOGY selects the ontology; one that calls projects something else makes every
    article with a project fail with the label and the file named, and the build goes on."""
    renamed = tmp_path / "kg.ttl"
    renamed.write_text(schema.ONTOLOGY.read_text(encoding="utf-8").replace("kg:Project", "kg:Undertaking"),
                       encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("区财政局局长张志远出席。加快推进华星光电潍坊基地项目建设。", encoding="utf-8")
    monkeypatch.setenv(schema.ENV, str(renamed))
    report = api.build(corpus, tmp_path / "out", nlp=nlp, cache=False)
    assert report.articles == 0 and not report.files
    assert [f.path for f in report.failures] == [str(corpus / "a.txt")]
    assert "'Project' is not an entity class of" in report.failures[0].reason
    assert str(renamed) in report.failures[0].reason
