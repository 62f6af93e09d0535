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
import io
import json
import shutil
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterable, Iterator
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


def turtle_chunk(triples: Iterable[ox.Triple], path: Path) -> None:
    """One piece of graph.ttl: pyoxigraph's Turtle with the shared prefixes (joined by `assemble`)."""
    ox.serialize(triples, str(path), ox.RdfFormat.TURTLE, prefixes=PREFIXES)


def _turtle_header() -> bytes:
    """What pyoxigraph writes before the first triple (it writes nothing for no triple)."""
    probe = ox.NamedNode("urn:x:probe")
    text = ox.serialize([ox.Triple(probe, probe, probe)], format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    return text[:text.index(b"<urn:x:probe>")]


TURTLE_HEADER = _turtle_header()


class Chunks:
    """One merge partition's pieces of the CSV, GraphML and HTML outputs, written as its merged
    nodes stream past (in IRI order); `assemble` joins every partition's pieces in order."""

    def __init__(self, table: EntityTable, folder: Path, part: int, page_sources: int = html.MAX_PAGE_SOURCES):
        self.table, self.page_sources = table, page_sources
        self.degree: dict[int, int] = {}
        self.nodes = self.edges = 0
        names = ("entities.csv", "relations.csv", "nodes.graphml", "edges.graphml", "html.jsonl")
        self.files = [chunk_path(folder, name, part).open("w", encoding="utf-8", newline="") for name in names]
        self.ents, self.rels = csv.writer(self.files[0]), csv.writer(self.files[1])

    def add(self, node: MergedNode, edges: list[MergedEdge]) -> None:
        name_at, iri_at = self.table.name_at, self.table.iri_at
        self.nodes += 1
        self.edges += len(edges)
        # CSV, as kg.export.files.write_csvs
        self.ents.writerow([node.iri, node.type, node.name, "|".join(node.aliases), "|".join(node.docs),
                            round(node.confidence, 2)])
        for e in edges:
            self.rels.writerow([node.name, e.relation, name_at(e.tail), e.role or "", e.amount or "",
                                round(e.confidence, 2), e.doc, e.sentence])
        # GraphML, read back by networkx as kg.graph.to_networkx's graph
        sources = [{"doc": d, "sentence": s} for d, s in node.sources]
        self.files[2].write(f"    <node id={quoteattr(node.iri)}>" + _data("n", (
            node.type, node.name, json.dumps(node.aliases, ensure_ascii=False), repr(float(node.confidence)),
            json.dumps(sources, ensure_ascii=False),
            node.sources_total if node.sources_total > len(sources) else None)) + "</node>\n")
        for e in edges:
            self.files[3].write(f"    <edge source={quoteattr(node.iri)} target={quoteattr(iri_at(e.tail))} "
                                f"id={quoteattr(e.relation)}>" + _data("e", (
                                    e.relation, repr(float(e.confidence)), e.doc, e.sentence, e.role or None,
                                    e.amount or None)) + "</edge>\n")
        # HTML candidates: every node and edge, in short; `assemble` keeps the most connected
        self.degree[node.rank] = self.degree.get(node.rank, 0) + len(edges)
        self.files[4].write(json.dumps(["n", node.rank, node.iri, node.type, node.name, node.aliases,
                                        node.confidence, sources[:self.page_sources], node.sources_total],
                                       ensure_ascii=False) + "\n")
        for e in edges:
            self.degree[e.tail] = self.degree.get(e.tail, 0) + 1
            self.files[4].write(json.dumps(["e", e.head, e.tail, e.relation, e.confidence, e.doc, e.sentence,
                                            e.role, e.amount], ensure_ascii=False) + "\n")

    def close(self) -> None:
        for f in self.files:
            f.close()


def chunk_path(folder: Path, name: str, part: int) -> Path:
    return Path(folder) / f"{name}.{part:05d}"


def _data(prefix: str, values: Iterable[object]) -> str:
    return "".join(f'<data key="{prefix}{i}">{escape(str(v))}</data>' for i, v in enumerate(values) if v is not None)


# sources: the first kg.stream.merge.MAX_SOURCES; sources_total only where there are more
_NODE_KEYS = (("type", "string"), ("label", "string"), ("aliases", "string"), ("confidence", "double"),
              ("sources", "string"), ("sources_total", "long"))
_EDGE_KEYS = (("relation", "string"), ("confidence", "double"), ("doc", "string"), ("sentence", "string"),
              ("role", "string"), ("amount", "long"))
GRAPHML_HEADER = ("<?xml version='1.0' encoding='utf-8'?>\n"
                  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
                  + "".join(f'  <key id="{prefix}{i}" for="{kind}" attr.name="{name}" attr.type="{typ}" />\n'
                            for prefix, kind, keys in (("n", "node", _NODE_KEYS), ("e", "edge", _EDGE_KEYS))
                            for i, (name, typ) in enumerate(keys))
                  + '  <graph edgedefault="directed">\n')
GRAPHML_FOOTER = "  </graph>\n</graphml>\n"


def _copy(parts: Iterable[Path], out: IO[bytes], skip: bytes = b"") -> None:
    for path in parts:
        with path.open("rb") as f:
            if skip and f.read(len(skip)) not in (skip, b""):
                raise ValueError(f"{path}: does not start with the shared Turtle prefixes")
            shutil.copyfileobj(f, out, 1 << 20)


def assemble(out: Path, work: Path, groups: int, parts: int, degree: dict[int, int], totals: tuple[int, int],
             title: str, max_nodes: int = html.MAX_NODES) -> None:
    """Join the pieces into the five output files, each replaced atomically."""
    with atomic_path(out / "graph.ttl") as tmp, tmp.open("wb") as f:
        f.write(TURTLE_HEADER)
        _copy([chunk_path(work, "articles.ttl", g) for g in range(groups)], f, TURTLE_HEADER)
        _copy([chunk_path(work, "nodes.ttl", k) for k in range(parts)], f, TURTLE_HEADER)
    header = io.StringIO()
    csv.writer(header).writerow(["iri", "type", "name", "aliases", "articles", "confidence"])
    csv.writer(header).writerow(["head", "relation", "tail", "role", "amount", "confidence", "article", "sentence"])
    heads = header.getvalue().encode("utf-8").split(b"\r\n")
    for name, head in (("entities.csv", heads[0]), ("relations.csv", heads[1])):
        with atomic_path(out / name) as tmp, tmp.open("wb") as f:
            f.write(head + b"\r\n")
            _copy([chunk_path(work, name, k) for k in range(parts)], f)
    with atomic_path(out / "graph.graphml") as tmp, tmp.open("wb") as f:
        f.write(GRAPHML_HEADER.encode("utf-8"))
        _copy([chunk_path(work, "nodes.graphml", k) for k in range(parts)], f)
        _copy([chunk_path(work, "edges.graphml", k) for k in range(parts)], f)
        f.write(GRAPHML_FOOTER.encode("utf-8"))
    write_html(out / "graph.html", [chunk_path(work, "html.jsonl", k) for k in range(parts)], degree, totals,
               title, max_nodes)


def write_html(path: Path, chunks: list[Path], degree: dict[int, int], totals: tuple[int, int], title: str,
               max_nodes: int) -> None:
    """The overview page: the `max_nodes` most connected entities (ties: IRI order) and the edges
    among them; only those are read back from the chunks."""
    keep = set(sorted(degree, key=lambda r: (-degree[r], r))[:max_nodes])
    g, iri = nx.MultiDiGraph(), {}
    for line in _lines(chunks):  # a node's row comes before its outgoing edges
        row = json.loads(line)
        if row[0] == "n" and row[1] in keep:
            _, rank, node_iri, typ, name, aliases, conf, sources, total = row
            iri[rank] = node_iri
            g.add_node(node_iri, type=typ, label=name, aliases=aliases, confidence=conf, sources=sources,
                       sources_total=total)
    rows = (json.loads(line) for line in _lines(chunks))
    edges = (row for row in rows if row[0] == "e" and row[1] in keep and row[2] in keep)
    # as kg.export.html.cap: the most confident, ties by head IRI, tail IRI, relation
    for _, head, tail, relation, conf, doc, sentence, role, amount in html.strongest(
            edges, html.EDGES_PER_NODE * max_nodes, lambda r: (r[4], iri[r[1]], iri[r[2]], r[3])):
        attrs = {"relation": relation, "confidence": conf, "doc": doc, "sentence": sentence}
        if role:
            attrs["role"] = role
        if amount:
            attrs["amount"] = amount
        g.add_edge(iri[head], iri[tail], key=relation, **attrs)
    write_text(path, html.page(g, title, totals))


def _lines(paths: list[Path]) -> Iterator[str]:
    for p in paths:
        with p.open(encoding="utf-8") as f:
            yield from f
