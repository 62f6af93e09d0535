"""Exports written while the merged graph streams past: Turtle, CSV, GraphML, a capped HTML view.

Turtle goes straight from records and merged nodes to pyoxigraph's serializer, never through an
rdflib Graph; it has the same triples as kg.graph.to_rdf. Its order is fixed by the data alone
(articles in doc-id order, each with its mention and evidence nodes; then entities in IRI order, each
followed by its statements), so the same input gives the same bytes, whatever the partitioning.
The CSV files have the bytes of kg.export.files.write_csvs; GraphML reads back (networkx) as
kg.graph.to_networkx's graph; the HTML page shows the most connected entities.
"""
from __future__ import annotations

import csv
import json
import shutil
import tempfile
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterable
from xml.sax.saxutils import escape, quoteattr

import networkx as nx
import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD
from rdflib.namespace import DCTERMS, PROV, SKOS

from kg.export import html
from kg.export.files import atomic_path, write_text
from kg.graph import ID, KINDS, _hash, article_iri, entity_iri
from kg.stream.merge import EntityTable, MergedEdge, MergedNode, kept_relations, local_nodes
from kg.stream.records import Record
from kg.vocab import KG

PREFIXES = dict(sorted({"kg": str(KG._NS), "id": str(ID), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD),
                        "skos": str(SKOS), "prov": str(PROV), "dcterms": str(DCTERMS),
                        **{kind: f"{ID}{kind}/" for kind in KINDS}}.items()))

_N = ox.NamedNode
A, LABEL, PREF, ALT = _N(str(RDF.type)), _N(str(RDFS.label)), _N(str(SKOS.prefLabel)), _N(str(SKOS.altLabel))
DERIVED, TITLE, DATE = _N(str(PROV.wasDerivedFrom)), _N(str(DCTERMS.title)), _N(str(DCTERMS.date))
SUBJ, PRED, OBJ = _N(str(RDF.subject)), _N(str(RDF.predicate)), _N(str(RDF.object))
XSD_STRING, XSD_INT, XSD_DEC = _N(str(XSD.string)), _N(str(XSD.integer)), _N(str(XSD.decimal))
K = {name: _N(str(KG[name])) for name in KG.__annotations__}


def _zh(text: str) -> ox.Literal:
    return ox.Literal(text, language="zh")


@lru_cache(maxsize=1 << 16)
def _int(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=XSD_INT)


@lru_cache(maxsize=256)
def _conf(c: float) -> ox.Literal:
    return ox.Literal(str(Decimal(str(round(c, 2)))), datatype=XSD_DEC)   # as kg.graph.to_rdf


@lru_cache(maxsize=1 << 16)
def _article(doc: str) -> ox.NamedNode:
    return _N(str(article_iri(doc)))


def article_triples(record: Record, table: EntityTable) -> list[ox.Triple]:
    """An article node, then its mention and evidence nodes in IRI order (all local to it)."""
    doc, sents, T = record["doc"], record["sents"], ox.Triple
    art = _article(doc)
    out = [T(art, A, K["Article"]), T(art, K["fileName"], ox.Literal(doc, datatype=XSD_STRING)),
           T(art, K["sha256"], ox.Literal(record["sha256"], datatype=XSD_STRING))]
    if record["title"]:
        out.append(T(art, TITLE, _zh(record["title"])))
    if record["date"]:
        out.append(T(art, DATE, ox.Literal(record["date"], datatype=XSD_STRING)))
    for name in record["reporters"]:
        out.append(T(art, K["reporter"], _N(str(entity_iri("Person", name)))))
    # mention and evidence nodes, as kg.graph._ev_node makes them
    local = local_nodes(record, table)
    nodes: dict[str, tuple[int, int, int, str | None]] = {}
    for (etype, name, _aliases, _conf, spans) in record["ents"]:
        node = table.iris[table.node(etype, name)]
        for start, end, ev in spans:
            nodes.setdefault(f"{ID}mention/{_hash(doc, start, end, node)}", (ev, start, end, node))
    for _h, _t, row in kept_relations(record, local):
        _sentence, _index, start, end = sents[row[3]]
        nodes.setdefault(f"{ID}evidence/{_hash(doc, start, end)}", (row[3], start, end, None))
    sentence_lit = [_zh(s[0]) for s in sents]
    mention, evidence, derived, sentence = K["Mention"], K["Evidence"], DERIVED, K["sentence"]
    index, begin, finish, of = K["sentenceIndex"], K["beginIndex"], K["endIndex"], K["mentionOf"]
    for iri in sorted(nodes):
        ev, start, end, entity = nodes[iri]
        s = _N(iri)
        out += (T(s, A, evidence if entity is None else mention), T(s, derived, art), T(s, sentence, sentence_lit[ev]),
                T(s, index, _int(sents[ev][1])), T(s, begin, _int(start)), T(s, finish, _int(end)))
        if entity is not None:
            out.append(T(s, of, _N(entity)))
    return out


def node_triples(node: MergedNode, edges: list[MergedEdge], table: EntityTable) -> list[ox.Triple]:
    """An entity with its facts and outgoing relations, then each relation's statement node."""
    T, s = ox.Triple, _N(node.iri)
    name = _zh(node.name)
    out = [T(s, A, K[node.type]), T(s, LABEL, name), T(s, PREF, name), T(s, K["confidence"], _conf(node.confidence))]
    out += [T(s, ALT, _zh(alias)) for alias in node.aliases]
    out += [T(s, DERIVED, _article(doc)) for doc in node.docs]
    tails = [_N(table.iri_at(e.tail)) for e in edges]
    out += [T(s, K[e.relation], o) for e, o in zip(edges, tails)]
    for e, o in zip(edges, tails):
        st = _N(f"{ID}statement/{_hash(node.iri, e.relation, o.value)}")
        out += (T(st, A, K["Statement"]), T(st, SUBJ, s), T(st, PRED, K[e.relation]), T(st, OBJ, o),
                T(st, K["confidence"], _conf(e.confidence)))
        if e.role:
            out.append(T(st, K["role"], _zh(e.role)))
        if e.amount:
            out.append(T(st, K["amount"], _int(e.amount)))
        out += [T(st, K["evidence"], _N(f"{ID}evidence/{ev}")) for ev in e.evidence]
    return out


def write_turtle(triples: Iterable[ox.Triple], path: Path) -> None:
    with atomic_path(path) as tmp:
        ox.serialize(triples, str(tmp), ox.RdfFormat.TURTLE, prefixes=PREFIXES)


class Sink:
    """Receives each merged node with its outgoing edges, in IRI order."""

    def add(self, node: MergedNode, edges: list[MergedEdge]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (called once, after the last node)."""

    def abort(self) -> None:
        """Drop the unfinished output (the build failed): the previous file stays."""


class _AtomicFiles:
    """Text files written to temporary paths, moved into place together by `commit`."""

    def __init__(self, *paths: Path):
        self._contexts = [atomic_path(p) for p in paths]
        self.files: list[IO[str]] = [c.__enter__().open("w", encoding="utf-8", newline="") for c in self._contexts]

    def commit(self) -> None:
        for f in self.files:
            f.close()
        for c in self._contexts:
            c.__exit__(None, None, None)

    def abort(self) -> None:
        for f in self.files:
            f.close()
        for c in self._contexts:  # atomic_path removes its temporary file on an exception
            try:
                c.__exit__(RuntimeError, RuntimeError("build failed"), None)
            except RuntimeError:
                pass


class CsvSink(Sink):
    """entities.csv and relations.csv, as kg.export.files.write_csvs writes them."""

    def __init__(self, entities: Path, relations: Path, table: EntityTable):
        self.table = table
        self._out = _AtomicFiles(entities, relations)
        self.ents, self.rels = (csv.writer(f) for f in self._out.files)
        self.ents.writerow(["iri", "type", "name", "aliases", "articles", "confidence"])
        self.rels.writerow(["head", "relation", "tail", "role", "amount", "confidence", "article", "sentence"])

    def add(self, node: MergedNode, edges: list[MergedEdge]) -> None:
        self.ents.writerow([node.iri, node.type, node.name, "|".join(node.aliases), "|".join(node.docs),
                            round(node.confidence, 2)])
        for e in edges:
            self.rels.writerow([node.name, e.relation, self.table.name_at(e.tail), e.role or "", e.amount or "",
                                round(e.confidence, 2), e.doc, e.sentence])

    def close(self) -> None:
        self._out.commit()

    def abort(self) -> None:
        self._out.abort()


_NODE_KEYS = (("type", "string"), ("label", "string"), ("aliases", "string"), ("confidence", "double"),
              ("sources", "string"))
_EDGE_KEYS = (("relation", "string"), ("confidence", "double"), ("doc", "string"), ("sentence", "string"),
              ("role", "string"), ("amount", "long"))


class GraphmlSink(Sink):
    """GraphML written as the graph streams by: nodes, then edges (kept in a temporary file)."""

    def __init__(self, path: Path, table: EntityTable):
        self.table = table
        self._out = _AtomicFiles(path)
        self.out = self._out.files[0]
        self.edges: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.out.write("<?xml version='1.0' encoding='utf-8'?>\n"
                       '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                       'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                       'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
        for prefix, kind, keys in (("n", "node", _NODE_KEYS), ("e", "edge", _EDGE_KEYS)):
            for i, (name, typ) in enumerate(keys):
                self.out.write(f'  <key id="{prefix}{i}" for="{kind}" attr.name="{name}" attr.type="{typ}" />\n')
        self.out.write('  <graph edgedefault="directed">\n')

    @staticmethod
    def _data(prefix: str, values: Iterable[object]) -> str:
        return "".join(f'<data key="{prefix}{i}">{escape(str(v))}</data>'
                       for i, v in enumerate(values) if v is not None)

    def add(self, node: MergedNode, edges: list[MergedEdge]) -> None:
        sources = [{"doc": d, "sentence": s} for d, s in node.sources]
        self.out.write(f"    <node id={quoteattr(node.iri)}>" + self._data("n", (
            node.type, node.name, json.dumps(node.aliases, ensure_ascii=False), repr(float(node.confidence)),
            json.dumps(sources, ensure_ascii=False))) + "</node>\n")
        for e in edges:
            self.edges.write(f"    <edge source={quoteattr(node.iri)} target={quoteattr(self.table.iri_at(e.tail))} "
                             f"id={quoteattr(e.relation)}>" + self._data("e", (
                                 e.relation, repr(float(e.confidence)), e.doc, e.sentence, e.role or None,
                                 e.amount or None)) + "</edge>\n")

    def close(self) -> None:
        self.edges.seek(0)
        shutil.copyfileobj(self.edges, self.out)
        self.edges.close()
        self.out.write("  </graph>\n</graphml>\n")
        self._out.commit()

    def abort(self) -> None:
        self.edges.close()
        self._out.abort()


class HtmlSink(Sink):
    """The overview page: the `max_nodes` most connected entities and the edges among them.
    Everything streams to a temporary file; only the chosen part is read back and drawn."""

    def __init__(self, path: Path, table: EntityTable, title: str, max_nodes: int = html.MAX_NODES):
        self.path, self.title, self.max_nodes = path, title, max_nodes
        self.degree = [0] * len(table)
        self.n_nodes = self.n_edges = 0
        self.tmp: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")

    def add(self, node: MergedNode, edges: list[MergedEdge]) -> None:
        self.n_nodes += 1
        self.n_edges += len(edges)
        self.degree[node.rank] += len(edges)
        sources = [{"doc": d, "sentence": s} for d, s in node.sources[:html.MAX_PAGE_SOURCES]]
        self.tmp.write(json.dumps(["n", node.rank, node.iri, node.type, node.name, node.aliases,
                                   node.confidence, sources, len(node.sources)], ensure_ascii=False) + "\n")
        for e in edges:
            self.degree[e.tail] += 1
            self.tmp.write(json.dumps(["e", e.head, e.tail, e.relation, e.confidence, e.doc, e.sentence,
                                       e.role, e.amount], ensure_ascii=False) + "\n")

    def close(self) -> None:
        top = sorted(range(len(self.degree)), key=lambda r: (-self.degree[r], r))[:self.max_nodes]
        keep, iri = set(top), {}
        g = nx.MultiDiGraph()
        self.tmp.seek(0)
        for line in self.tmp:  # nodes come before the edges that leave them; tails may come later
            row = json.loads(line)
            if row[0] == "n" and row[1] in keep:
                _, rank, node_iri, typ, name, aliases, conf, sources, total = row
                iri[rank] = node_iri
                g.add_node(node_iri, type=typ, label=name, aliases=aliases, confidence=conf, sources=sources,
                           sources_total=total)
        self.tmp.seek(0)
        for line in self.tmp:
            row = json.loads(line)
            if row[0] == "e" and row[1] in keep and row[2] in keep:
                _, head, tail, relation, conf, doc, sentence, role, amount = row
                attrs = {"relation": relation, "confidence": conf, "doc": doc, "sentence": sentence}
                if role:
                    attrs["role"] = role
                if amount:
                    attrs["amount"] = amount
                g.add_edge(iri[head], iri[tail], key=relation, **attrs)
        self.tmp.close()
        write_text(self.path, html.page(g, self.title, (self.n_nodes, self.n_edges)))

    def abort(self) -> None:
        self.tmp.close()
