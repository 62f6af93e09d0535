"""Merge per-article extractions into one graph, then project it to RDF and NetworkX.

Merging is its own step (extraction never sees other articles): entities of one type
whose names match across articles (NFKC, no whitespace, or a name equal to another's
alias) become one node, after relative names (区委, 县政府) are qualified by their article's
place; relations are keyed by their resolved ends.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal
from urllib.parse import quote

import networkx as nx
from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from kg.resolve import norm
from kg.schema import Schema, load
from kg.types import Article, Entity, Evidence, Extraction, Mention
from kg.vocab import KG, Names

ID = Namespace("https://w3id.org/zhkg/id/")


RECORD_KINDS = ("article", "statement", "evidence", "mention")  # IRI folders beside one per entity class


def iri_segment(text: str) -> str:
    """A readable and safe IRI path segment (RFC 3987): Chinese stays as it is; ASCII other
    than unreserved characters, and invisible or unassigned code points, are %-encoded."""
    return "".join(c if (c.isascii() and (c.isalnum() or c in "-._~")) or (
        not c.isascii() and unicodedata.category(c)[0] not in "CZ") else quote(c, safe="") for c in text)


def entity_iri(etype: str, name: str) -> URIRef:
    """Stable (same name and type -> same IRI across runs) and safe for any name."""
    return ID[f"{etype.lower()}/{iri_segment(norm(name))}"]


def article_iri(doc_id: str) -> URIRef:
    """The article's path in the corpus (kg.ingest.article_id) as one segment."""
    return ID[f"article/{iri_segment(doc_id)}"]


def _hash(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


@dataclass
class Node:
    iri: URIRef
    type: str
    name: str
    aliases: set[str] = field(default_factory=set)
    mentions: list[Mention] = field(default_factory=list)
    confidence: float = 0.0


@dataclass
class Edge:
    head: URIRef
    relation: str
    tail: URIRef
    evidence: list[Evidence] = field(default_factory=list)
    role: str | None = None
    amount: int | None = None
    confidence: float = 0.0


@dataclass
class KnowledgeGraph:
    nodes: dict[URIRef, Node]
    edges: dict[tuple[URIRef, str, URIRef], Edge]
    articles: list[Article]


RELATIVE = re.compile(r"^(新区|区|市|县|镇|乡|州|旗|盟|省)(?!长)")


def qualified_name(e: Entity, ex: Extraction) -> str | None:
    """A relative name qualified by the article's own place (大渡口区 + 区委 -> 大渡口区委), or None
    if the name is not relative; "" if it is but the article does not say which place it is."""
    m = RELATIVE.match(e.name)
    if e.type != Names.Organization or m is None:
        return None
    level = m.group(1)[-1]
    districts = {d.name: d for d in ex.entities if d.type == Names.District}
    # where the extraction put it, else the article's most-named place of that level
    where = [r.tail for r in ex.relations if r.head == e.name and r.relation == Names.locatedIn and r.tail in districts]
    where = [w for w in where if w.endswith(level)] or where
    if not where:
        where = [d.name for d in sorted((d for d in districts.values() if d.name.endswith(level)),
                                        key=lambda d: (-len(d.mentions), d.name))[:1]]
    if not where:
        return ""
    place = where[0]
    return place + (e.name[len(m.group(1)):] if place.endswith(m.group(1)) else e.name)


@dataclass(frozen=True)
class MergeName:
    """How one of an article's entities enters the cross-article merge."""
    label: str              # the node's name if it founds one: qualified (大渡口区委) or as in the text
    key: str                # the normalised name it merges on, and its IRI's (区委@article if unplaced)
    joins: tuple[str, ...]  # normalised aliases by which it joins a node already known


def merge_names(ex: Extraction) -> list[MergeName]:
    """Each of `ex.entities`' MergeName, in order. A function of the article alone: the in-memory
    merge and kg.stream (which stores it in the article's record) both take it from here."""
    out = []
    for e in ex.entities:
        qualified = qualified_name(e, ex)
        if qualified == "":  # an unknown place's 区委: never merged across articles
            out.append(MergeName(e.name, norm(f"{e.name}@{ex.article.doc_id}"), ()))
            continue
        label = qualified or e.name
        joins = tuple(norm(a) for a in e.aliases if len(norm(a)) > 2 and not RELATIVE.match(a))
        out.append(MergeName(label, norm(label), joins))
    return out


def merge(extractions: list[Extraction]) -> KnowledgeGraph:
    """Entities of one type with one normalised name (or a name equal to another's alias) become
    one node. A relative name (区委, 市政府, 区财政局) is first qualified by the article's place
    (大渡口区委, the text's form kept as alias); one that cannot be stays the article's own node."""
    extractions = sorted(extractions, key=lambda x: x.article.doc_id)
    names: dict[tuple[str, str], URIRef] = {}
    nodes: dict[URIRef, Node] = {}
    local: dict[tuple[str, str], URIRef] = {}   # (doc_id, entity name) -> node
    for ex in extractions:
        for e, m in zip(ex.entities, merge_names(ex)):
            key = (e.type, m.key)
            iri = names.get(key) or next((names[(e.type, a)] for a in m.joins if (e.type, a) in names), None) \
                or entity_iri(e.type, m.key)
            if iri not in nodes:
                nodes[iri] = Node(iri, e.type, m.label)
            names.setdefault(key, iri)
            node = nodes[iri]
            node.aliases |= {a for a in [*e.aliases, e.name] if norm(a) != norm(node.name)}
            node.mentions += e.mentions
            node.confidence = max(node.confidence, e.confidence)
            local[(ex.article.doc_id, e.name)] = iri
    edges: dict[tuple[URIRef, str, URIRef], Edge] = {}
    for ex in extractions:
        for r in ex.relations:
            head, tail = local.get((ex.article.doc_id, r.head)), local.get((ex.article.doc_id, r.tail))
            if head is None or tail is None or head == tail:
                continue
            edge = edges.setdefault((head, r.relation, tail), Edge(head, r.relation, tail))
            edge.evidence.append(r.evidence)
            edge.role = edge.role or r.role
            edge.amount = edge.amount or r.amount
            edge.confidence = max(edge.confidence, r.confidence)
    return KnowledgeGraph(nodes, edges, [ex.article for ex in extractions])


def _ev_node(g: Graph, kind: URIRef, ev: Evidence, *key: object) -> URIRef:
    node = ID[f"{'mention' if kind == KG.Mention else 'evidence'}/{_hash(ev.doc_id, ev.start, ev.end, *key)}"]
    g.add((node, RDF.type, kind))
    g.add((node, PROV.wasDerivedFrom, article_iri(ev.doc_id)))
    g.add((node, KG.sentence, Literal(ev.sentence, lang="zh")))
    g.add((node, KG.sentenceIndex, Literal(ev.sent_index)))
    g.add((node, KG.beginIndex, Literal(ev.start)))
    g.add((node, KG.endIndex, Literal(ev.end)))
    return node


def to_rdf(kgraph: KnowledgeGraph, schema: Schema | None = None) -> Graph:
    """Entities typed, and relations named, by the schema's IRIs (default: the ontology in
    use): a type or relation the ontology does not declare is a SchemaError."""
    schema = schema or load()
    g = Graph()
    g.bind("kg", KG)
    g.bind("id", ID)
    g.bind("skos", SKOS)
    g.bind("prov", PROV)
    g.bind("dcterms", DCTERMS)
    for kind in (*(t.lower() for t in schema.entity_types), *RECORD_KINDS):
        g.bind(kind, ID[f"{kind}/"])  # person:张三 reads better than id:person/张三
    for a in kgraph.articles:
        iri = article_iri(a.doc_id)
        g.add((iri, RDF.type, KG.Article))
        g.add((iri, KG.fileName, Literal(a.doc_id, datatype=XSD.string)))
        g.add((iri, KG.sha256, Literal(a.sha256, datatype=XSD.string)))
        if a.title:
            g.add((iri, DCTERMS.title, Literal(a.title, lang="zh")))
        if a.date:
            g.add((iri, DCTERMS.date, Literal(a.date)))
        for name in a.reporters:
            g.add((iri, KG.reporter, entity_iri(Names.Person, name)))
    articles = {a.doc_id: a for a in kgraph.articles}
    for node in kgraph.nodes.values():
        g.add((node.iri, RDF.type, schema.iri(node.type)))
        g.add((node.iri, RDFS.label, Literal(node.name, lang="zh")))
        g.add((node.iri, SKOS.prefLabel, Literal(node.name, lang="zh")))
        g.add((node.iri, KG.confidence, Literal(Decimal(str(round(node.confidence, 2))))))
        for alias in sorted(node.aliases):
            g.add((node.iri, SKOS.altLabel, Literal(alias, lang="zh")))
        for m in node.mentions:
            g.add((node.iri, PROV.wasDerivedFrom, article_iri(m.evidence.doc_id)))
            article = articles.get(m.evidence.doc_id)  # offsets into the original file
            start, end = article.source_span(m.start, m.end) if article else (m.start, m.end)
            ev = replace(m.evidence, start=start, end=end)
            mention = _ev_node(g, KG.Mention, ev, node.iri)
            g.add((mention, KG.mentionOf, node.iri))
    for edge in kgraph.edges.values():
        prop = schema.iri(edge.relation)
        g.add((edge.head, prop, edge.tail))
        st = ID[f"statement/{_hash(edge.head, edge.relation, edge.tail)}"]
        g.add((st, RDF.type, KG.Statement))
        g.add((st, RDF.subject, edge.head))
        g.add((st, RDF.predicate, prop))
        g.add((st, RDF.object, edge.tail))
        g.add((st, KG.confidence, Literal(Decimal(str(round(edge.confidence, 2))))))
        if edge.role:
            g.add((st, KG.role, Literal(edge.role, lang="zh")))
        if edge.amount:
            g.add((st, KG.amount, Literal(edge.amount, datatype=XSD.integer)))
        for ev in edge.evidence:
            g.add((st, KG.evidence, _ev_node(g, KG.Evidence, ev)))
    return g


def to_networkx(kgraph: KnowledgeGraph) -> nx.MultiDiGraph:
    """A MultiDiGraph of the same facts: node attrs type, label, aliases, sources."""
    g = nx.MultiDiGraph()
    for iri in sorted(kgraph.nodes):
        node = kgraph.nodes[iri]
        sources = sorted({(m.evidence.doc_id, m.evidence.sentence) for m in node.mentions})
        g.add_node(str(iri), type=node.type, label=node.name, aliases=sorted(node.aliases),
                   confidence=node.confidence, sources=[{"doc": d, "sentence": s} for d, s in sources])
    for key in sorted(kgraph.edges):
        e = kgraph.edges[key]
        ev = e.evidence[0]
        attrs = {"relation": e.relation, "confidence": e.confidence, "doc": ev.doc_id, "sentence": ev.sentence}
        if e.role:
            attrs["role"] = e.role
        if e.amount:
            attrs["amount"] = e.amount
        g.add_edge(str(e.head), str(e.tail), key=e.relation, **attrs)
    return g
